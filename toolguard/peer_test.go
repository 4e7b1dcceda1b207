package toolguard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard"
)

// A call asked for by another process: the policy sees the peer and its
// claims apart from what this process knows, claimed taint makes the
// decision stricter, and the record and span name the peer.
func TestPeerClaimsReachThePolicyAsClaims(t *testing.T) {
	var seen *authz.Input
	dec := deciderFunc(func(ctx context.Context, in *authz.Input) (authz.Decision, error) {
		seen = in
		return testEngine(t).Decide(ctx, in)
	})
	f := newFixture(t, toolguard.WithDecider(dec))
	upload := toolguard.Tool{Name: "upload", Effect: toolguard.External, Risk: toolguard.Low, Destinations: []toolguard.Dest{toolguard.URLArg("url")}}
	var p probe
	fn := wrap(t, f.guard, upload, p.fn)
	args := DocArgs{URL: "https://docs.example.com/up"}

	_, err := fn(context.Background(), args)
	require.NoError(t, err, "in process, untainted: no approval needed")
	require.Nil(t, seen.Peer)

	peer := toolguard.Peer{ID: "spiffe://ztagent.dev/agent/planner", Chain: []string{"user:alice"}, Taint: []string{"untrusted:email"}}
	ctx := toolguard.WithPeer(context.Background(), peer)
	_, err = fn(ctx, args)
	requireDenied(t, err, toolguard.CodeNoApprover) // tainted by the peer's claim: approval, and no approver
	require.Equal(t, &authz.Peer{ID: peer.ID, Chain: peer.Chain, Taint: peer.Taint}, seen.Peer)
	require.Equal(t, []string{}, seen.Context.Taint, "this process's own taint is its own")
	require.NotContains(t, seen.Principal.Chain, "user:alice", "a claimed chain is not this process's principal")
	rec := f.sink.last(t)
	require.Equal(t, peer.ID, rec.Peer)
	var span sdktrace.ReadOnlySpan
	for _, s := range f.spans.Ended() {
		if s.SpanContext().SpanID().String() == rec.SpanID {
			span = s
		}
	}
	require.NotNil(t, span)
	require.Contains(t, span.Attributes(), attribute.String("ztagent.peer.id", peer.ID))

	_, err = fn(toolguard.WithPeer(context.Background(), toolguard.Peer{}), args)
	require.NoError(t, err, "a peer claiming nothing changes nothing")
	require.Equal(t, toolguard.UnauthenticatedPeer, f.sink.last(t).Peer)
}

// Claims nobody can read deny the call, with a record, before the policy.
func TestBadPeerClaimsDeny(t *testing.T) {
	f := newFixture(t)
	var p probe
	fn := wrap(t, f.guard, fetchTool, p.fn)
	for name, peer := range map[string]toolguard.Peer{
		"control character": {ID: "spiffe://x/\n"},
		"too long an id":    {ID: strings.Repeat("a", 4096)},
		"too many labels":   {Taint: strings.Split(strings.Repeat("l,", 40), ",")},
		"empty label":       {Chain: []string{""}},
		"not UTF-8":         {Taint: []string{"\xff"}},
	} {
		before := len(f.sink.all())
		_, err := fn(toolguard.WithPeer(context.Background(), peer), DocArgs{URL: "https://docs.example.com/"})
		d := requireDenied(t, err, toolguard.CodeBadPeer)
		require.NotContains(t, d.Reason, "\n", name)
		require.Len(t, f.sink.all(), before+1, "%s: recorded", name)
		require.Equal(t, toolguard.CodeBadPeer, f.sink.last(t).Code)
	}
	require.Zero(t, p.ran.Load(), "the tool never ran")
}

// A server's execute_tool span links to the chat span of the client's turn
// that proposed the call, across processes.
func TestRemoteTurnLinks(t *testing.T) {
	f := newFixture(t)
	var p probe
	fn := wrap(t, f.guard, fetchTool, p.fn)
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{7}, SpanID: trace.SpanID{8}, TraceFlags: trace.FlagsSampled, Remote: true})
	ctx := audit.WithRemoteTurn(context.Background(), audit.RemoteTurn{SpanContext: remote, CallID: "call_r1", ConversationID: "conv-9"})
	_, err := fn(toolguard.WithCall(ctx, "call_r1"), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	s := spanNamed(t, f, "execute_tool fetch")
	require.Len(t, s.Links(), 1)
	require.Equal(t, remote.SpanID(), s.Links()[0].SpanContext.SpanID())
	rec := f.sink.last(t)
	require.Equal(t, remote.SpanID().String(), rec.ProposedBySpan)
	require.Equal(t, "conv-9", rec.ConversationID)
}
