package toolguard_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/require"

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
	g, err := toolguard.New(context.Background(), toolguard.WithIdentity(id), toolguard.WithIssuer(f.minter),
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
	require.Equal(t, []bool{false, true, true}, spy.log())
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
	require.Equal(t, []bool{false, true, true, false}, spy.log())
	require.Equal(t, int32(3), p.ran.Load())
}
