package toolguard_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/toolguard"
)

// scribbler decides like its decider, then overwrites every slice and pointer
// of its input, as a decider may: "may keep or change its input".
type scribbler struct {
	authz.Decider
	seen []authz.Input // deep copies, taken before scribbling
}

func (s *scribbler) Decide(ctx context.Context, in *authz.Input) (authz.Decision, error) {
	cp := *in
	cp.Principal.Chain = append([]string(nil), in.Principal.Chain...)
	cp.Task.Scopes = append([]string(nil), in.Task.Scopes...)
	cp.Call.Args = append([]byte(nil), in.Call.Args...)
	cp.Call.Destinations = append([]authz.Destination(nil), in.Call.Destinations...)
	exp := *in.Task.ExpiresAt
	cp.Task.ExpiresAt = &exp
	s.seen = append(s.seen, cp)

	d, err := s.Decider.Decide(ctx, in)
	for i := range in.Principal.Chain {
		in.Principal.Chain[i] = "spiffe://evil.example/x"
	}
	for i := range in.Task.Scopes {
		in.Task.Scopes[i] = "admin"
	}
	for i := range in.Call.Args {
		in.Call.Args[i] = ' '
	}
	for i := range in.Call.Destinations {
		in.Call.Destinations[i].Host = "evil.example"
	}
	*in.Task.ExpiresAt = time.Time{}
	return d, err
}

// The guard shares memory between calls (the SVID's chain, remembered
// arguments and destinations, the task's scopes), so a decider must get its
// own copy: what one call's decider does to its input never reaches the next
// call, the task or the tool.
func TestDeciderCannotChangeSharedInput(t *testing.T) {
	s := &scribbler{Decider: testEngine(t)}
	f := newFixture(t, toolguard.WithDecider(s))
	p := &probe{}
	fetch := wrap(t, f.guard, toolguard.Tool{Name: "fetch", Effect: toolguard.Read,
		Destinations: []toolguard.Dest{toolguard.URLArg("url")}}, p.fn)
	task := &toolguard.Task{ID: "t-1", Purpose: "read", Scopes: []string{"docs:read"}, ExpiresAt: f.now.Now().Add(time.Hour)}
	ctx := toolguard.WithTask(context.Background(), task)
	args := DocArgs{URL: "https://docs.example.com/a", Tags: map[string]string{"k": "v"}}

	for range 3 {
		_, err := fetch(ctx, args)
		require.NoError(t, err)
		require.Equal(t, args, p.args, "the tool gets what was authorized")
	}
	require.Len(t, s.seen, 3)
	first := s.seen[0]
	require.Equal(t, []string{"spiffe://ztagent.dev/agent/test"}, first.Principal.Chain)
	require.Equal(t, "docs.example.com", first.Call.Destinations[0].Host)
	for i, in := range s.seen[1:] {
		require.Equal(t, first.Principal.Chain, in.Principal.Chain, i)
		require.Equal(t, first.Task.Scopes, in.Task.Scopes, i)
		require.Equal(t, string(first.Call.Args), string(in.Call.Args), i)
		require.Equal(t, first.Call.Destinations, in.Call.Destinations, i)
		require.True(t, first.Task.ExpiresAt.Equal(*in.Task.ExpiresAt), i)
	}
	require.Equal(t, []string{"docs:read"}, task.Scopes, "the caller's task is not changed")
}

// appendingIssuer appends to the request's delegation, as an issuer that
// builds its act chain in place might.
type appendingIssuer struct{ creds.Issuer }

func (a appendingIssuer) Issue(ctx context.Context, r creds.Request) (*creds.Credential, error) {
	_ = append(r.Delegation, "spiffe://evil.example/appended")
	return a.Issuer.Issue(ctx, r)
}

// cachingSpy is an engine with a decision cache whose evaluations are seen.
type cachingSpy struct {
	*authz.Engine
	chains [][]string
}

func (c *cachingSpy) Decide(ctx context.Context, in *authz.Input) (authz.Decision, error) {
	c.chains = append(c.chains, append([]string(nil), in.Principal.Chain...))
	return c.Engine.Decide(ctx, in)
}

// The delegation an issuer gets is a view of the call's principal chain,
// which a cache hit shares with later calls; appending to it must not write
// there.
func TestIssuerCannotChangeSharedChain(t *testing.T) {
	eng, err := authz.New(context.Background(), authz.WithDataJSON(policyData), authz.WithTimeout(30*time.Second), authz.WithDecisionCache(64))
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	spy := &cachingSpy{Engine: eng}
	f := newFixture(t)
	g, err := toolguard.New(context.Background(), toolguard.WithIdentity(f.id), toolguard.WithCredentialIssuer(appendingIssuer{f.minter}),
		toolguard.WithDecider(spy), toolguard.WithTracerProvider(f.tp), toolguard.WithSink(f.sink), toolguard.WithClock(f.now.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	p := &probe{}
	read := wrap(t, g, toolguard.Tool{Name: "read_doc", Effect: toolguard.Read}, p.fn)
	ctx := toolguard.WithTask(context.Background(), &toolguard.Task{ID: "t", ExpiresAt: f.now.Now().Add(time.Hour)})
	for range 5 {
		_, err := read(ctx, DocArgs{})
		require.NoError(t, err)
	}
	// Two misses store the decision; the hits after them share the chain.
	require.Len(t, spy.chains, 2, "later calls were cache hits: their chain was not changed")
	for _, c := range spy.chains {
		require.Equal(t, []string{"spiffe://ztagent.dev/agent/test"}, c)
	}
}

// thief decides like its decider, then takes its input apart.
type thief struct{ authz.Decider }

func (d thief) Decide(ctx context.Context, in *authz.Input) (authz.Decision, error) {
	dec, err := d.Decider.Decide(ctx, in)
	in.Subject.SPIFFEID = "spiffe://evil.example/x"
	in.Principal.Chain = nil
	in.Call.Destinations = nil
	return dec, err
}

// What a decider does to its input does not reach the rest of this call
// either: the credential is still the agent's, and nothing panics.
func TestDeciderCannotChangeThisCall(t *testing.T) {
	f := newFixture(t, toolguard.WithDecider(thief{testEngine(t)}))
	p := &probe{}
	fetch := wrap(t, f.guard, toolguard.Tool{Name: "fetch", Effect: toolguard.Read,
		Destinations: []toolguard.Dest{toolguard.URLArg("url")}}, p.fn)
	_, err := fetch(context.Background(), DocArgs{URL: "https://docs.example.com/a"})
	require.NoError(t, err)
	require.Equal(t, agentID, p.cred.Subject)
	require.Equal(t, "https://docs.example.com", p.cred.Audience)
	require.True(t, p.granted)
	require.Equal(t, []string{"docs.example.com"}, p.hosts)
}
