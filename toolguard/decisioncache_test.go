package toolguard_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/toolguard"
)

// revocableIdentity is the dev source until revoked.
type revocableIdentity struct {
	identity.Source
	revoked atomic.Bool
}

func (r *revocableIdentity) GetX509SVID() (*x509svid.SVID, error) {
	if r.revoked.Load() {
		return nil, identity.ErrExpired
	}
	return r.Source.GetX509SVID()
}

// cacheSpy records whether each decision came from the cache.
type cacheSpy struct {
	authz.Decider
	mu     sync.Mutex
	cached []bool
}

func (s *cacheSpy) Decide(ctx context.Context, in *authz.Input) (authz.Decision, error) {
	d, err := s.Decider.Decide(ctx, in)
	s.mu.Lock()
	s.cached = append(s.cached, d.Cached)
	s.mu.Unlock()
	return d, err
}

func (s *cacheSpy) log() []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bool(nil), s.cached...)
}

// The guard needs no change for the decision cache: a cached decision still
// goes through identity, credential, span and record, and a revoked identity
// or an ended task denies whatever the cache holds.
func TestGuardWithDecisionCache(t *testing.T) {
	eng, err := authz.New(context.Background(), authz.WithDataJSON(policyData), authz.WithTimeout(30*time.Second), authz.WithDecisionCache(64))
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	spy := &cacheSpy{Decider: eng}
	f := newFixture(t, toolguard.WithDecider(spy))
	id := &revocableIdentity{Source: f.id}
	g, err := toolguard.New(context.Background(), toolguard.WithIdentity(id), toolguard.WithCredentialIssuer(f.minter),
		toolguard.WithDecider(spy), toolguard.WithTracerProvider(f.tp), toolguard.WithSink(f.sink), toolguard.WithClock(f.now.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = g.Close(context.Background()) })

	p := &probe{}
	read := wrap(t, g, toolguard.Tool{Name: "read_doc", Effect: toolguard.Read}, p.fn)
	task := &toolguard.Task{ID: "t-1", Purpose: "read", ExpiresAt: f.now.Now().Add(3 * time.Second)}
	ctx := toolguard.WithTask(context.Background(), task)
	args := DocArgs{Path: "/srv/a.txt"}

	var credIDs []string
	for range 3 {
		_, err := read(ctx, args)
		require.NoError(t, err)
		require.NotNil(t, p.cred)
		credIDs = append(credIDs, p.cred.ID)
		f.now.Advance(500 * time.Millisecond)
	}
	// Stored at the second miss (authz admits a key the second time).
	require.Equal(t, []bool{false, false, true}, spy.log())
	require.Len(t, f.sink.all(), 3, "a cached decision is recorded like any other")
	require.NotEqual(t, credIDs[1], credIDs[2], "the policy did not allow reuse: each call has its own credential")

	// Revoked identity: denied before any decision, cache or not.
	id.revoked.Store(true)
	_, err = read(ctx, args)
	requireDenied(t, err, toolguard.CodeIdentityExpired)
	id.revoked.Store(false)
	require.Len(t, spy.log(), 3)

	// Task expiry: the allow cached at the start of the task stops at its end.
	f.now.Advance(2 * time.Second)
	_, err = read(ctx, args)
	requireDenied(t, err, "task_expired")
	require.Equal(t, []bool{false, false, true, false}, spy.log())
	require.Equal(t, int32(3), p.ran.Load())
}

// A decision served from the cache was not evaluated, so it has no
// run_guardrail span: the execute_tool span carries the cached verdict with
// ztagent.decision.cached = true. A decision the policy evaluated keeps its
// run_guardrail span, under its execute_tool span.
func TestGuardCachedDecisionSpans(t *testing.T) {
	eng, err := authz.New(context.Background(), authz.WithDataJSON(policyData), authz.WithTimeout(30*time.Second), authz.WithDecisionCache(64))
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	f := newFixture(t, toolguard.WithDecider(eng))
	p := &probe{}
	read := wrap(t, f.guard, toolguard.Tool{Name: "read_doc", Effect: toolguard.Read}, p.fn)
	for range 3 {
		_, err := read(context.Background(), DocArgs{Path: "/srv/a.txt"})
		require.NoError(t, err)
	}
	recs := f.sink.all()
	require.Len(t, recs, 3)
	require.False(t, recs[0].Cached)
	require.False(t, recs[1].Cached, "stored at its second miss")
	require.True(t, recs[2].Cached, "the third call's decision came from the cache")

	var tools, guardrails []sdktrace.ReadOnlySpan
	for _, s := range f.spans.Ended() {
		switch {
		case strings.HasPrefix(s.Name(), "execute_tool "):
			tools = append(tools, s)
		case strings.HasPrefix(s.Name(), "run_guardrail "):
			guardrails = append(guardrails, s)
		}
	}
	require.Len(t, tools, 3)
	require.Len(t, guardrails, 2, "only the evaluated decisions have a guardrail span")
	require.Equal(t, tools[0].SpanContext().SpanID(), guardrails[0].Parent().SpanID())
	require.Equal(t, tools[1].SpanContext().SpanID(), guardrails[1].Parent().SpanID())

	attrs := func(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
		m := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes() {
			m[kv.Key] = kv.Value
		}
		return m
	}
	first, second := attrs(tools[1]), attrs(tools[2])
	_, cached := first[audit.KeyDecisionCached]
	require.False(t, cached, "an evaluated decision is not marked cached")
	require.True(t, second[audit.KeyDecisionCached].AsBool())
	for _, k := range []attribute.Key{audit.KeyGuardrailVerdict, audit.KeyDecisionCode, audit.KeyPolicyID, audit.KeyPolicyRevision, audit.KeySubjectSPIFFEID, audit.KeySVIDSerial, audit.KeyCredentialID, audit.KeyOutcome} {
		require.Contains(t, second, k)
		require.Contains(t, first, k)
	}
	require.Equal(t, "allow", second[audit.KeyGuardrailVerdict].AsString())
	require.Equal(t, first[audit.KeyPolicyRevision], second[audit.KeyPolicyRevision])
	require.Equal(t, recs[2].PolicyRevision, second[audit.KeyPolicyRevision].AsString())
	require.Equal(t, recs[2].Subject, second[audit.KeySubjectSPIFFEID].AsString())
}
