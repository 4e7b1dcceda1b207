package toolguard

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/internal/fakeclock"
	"github.com/ztagent/ztagent/internal/loop"
)

// A credential issued for a task that ended meanwhile is refused by swap,
// under the lock End takes, so End never misses one.
func TestSharedSwapRefusedAfterTaskEnd(t *testing.T) {
	task := &Task{ID: "t"}
	sc := &sharedCred{task: task}
	require.True(t, sc.swap(&creds.Credential{ID: "a"}))
	task.mu.Lock()
	task.ended.Store(true)
	task.mu.Unlock()
	require.False(t, sc.swap(&creds.Credential{ID: "b"}))
	require.Equal(t, "a", sc.cur.Load().ID)
}

// Requests that differ share no credential, even where joining their parts
// with a separator would make them equal.
func TestSharedKeyIsUnambiguous(t *testing.T) {
	reqs := []creds.Request{
		{Subject: "s", Audience: "a", Scopes: []string{"x y"}},
		{Subject: "s", Audience: "a", Scopes: []string{"x", "y"}},
		{Subject: "s", Audience: "a", Delegation: []string{"u v"}},
		{Subject: "s", Audience: "a", Delegation: []string{"u", "v"}},
		{Subject: "s", Audience: "a", Scopes: []string{"u"}, Delegation: []string{"v"}},
		{Subject: "s", Audience: "a", Scopes: []string{"u", "v"}},
		{Subject: "s\x00a", Audience: ""},
		{Subject: "s", Audience: "\x00a"},
		{Subject: "s", Audience: "a", Scopes: []string{`"],["`}},
		{Subject: "s", Audience: "a", Scopes: []string{""}},
		{Subject: "s", Audience: "a"},
		// Two invalid UTF-8 bytes, and the replacement character, are three chains.
		{Subject: "s", Audience: "a", Delegation: []string{"u\xff"}},
		{Subject: "s", Audience: "a", Delegation: []string{"u\xfe"}},
		{Subject: "s", Audience: "a", Delegation: []string{"u\uFFFD"}},
	}
	seen := map[string]int{}
	for i, r := range reqs {
		k := string(appendSharedKey(nil, r))
		j, dup := seen[k]
		require.False(t, dup, "requests %d and %d share the key %q", j, i, k)
		seen[k] = i
	}
}

// issueSignal is an issuer that says each time it issues.
type issueSignal struct {
	creds.Issuer
	issued chan creds.Request
}

func (i issueSignal) Issue(ctx context.Context, r creds.Request) (*creds.Credential, error) {
	i.issued <- r
	return i.Issuer.Issue(ctx, r)
}

// newRefreshGuard is a guard on clock whose loops wait on timers, issuing
// through iss over a minter on clock.
func newRefreshGuard(t *testing.T, clock *fakeclock.Clock, timers loop.Timers) (*Guard, issueSignal) {
	t.Helper()
	m, err := creds.NewMinter(creds.WithClock(clock.Now))
	require.NoError(t, err)
	iss := issueSignal{Issuer: m, issued: make(chan creds.Request, 4)}
	g, err := New(context.Background(), WithClock(clock.Now), WithCredentialIssuer(iss),
		WithSink(audit.NewJSONLines(io.Discard)), WithTracerProvider(noop.NewTracerProvider()),
		optionFunc(func(c *config) error { c.timers = timers; return nil }))
	require.NoError(t, err)
	return g, iss
}

var refreshReq = creds.Request{Subject: "spiffe://example.org/agent", Audience: "https://docs.example.com", TTL: time.Minute}

// A task's credential is renewed once half its lifetime has passed by the
// guard's clock, not before. The loops wait on timers that never tick, so
// only the test sweeps.
func TestSharedRefreshDueAtHalfLife(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	g, iss := newRefreshGuard(t, clock, fakeclock.New(clock.Now()))
	defer func() { require.NoError(t, g.Close(context.Background())) }()
	task := &Task{ID: "t"}
	first, minted, err := g.sharedCredential(context.Background(), task, refreshReq)
	require.NoError(t, err)
	require.True(t, minted)
	<-iss.issued

	clock.Advance(30*time.Second - time.Nanosecond)
	g.refreshDue(context.Background())
	require.Empty(t, iss.issued, "renewed before half its lifetime")
	clock.Advance(time.Nanosecond)
	g.refreshDue(context.Background())
	require.Equal(t, refreshReq, <-iss.issued)
	require.EqualValues(t, 1, g.Stats().Refreshes)
	c, _, err := g.sharedCredential(context.Background(), task, refreshReq)
	require.NoError(t, err)
	require.NotSame(t, first, c, "calls get the renewed credential")
}

// The refresher sweeps on the guard's timers.
func TestSharedRefreshLoopSweepsOnTheGuardTimers(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	g, iss := newRefreshGuard(t, clock, clock)
	clock.WaitArmed(2) // the revoker and the refresher wait
	_, _, err := g.sharedCredential(context.Background(), &Task{ID: "t"}, refreshReq)
	require.NoError(t, err)
	<-iss.issued
	clock.Advance(30 * time.Second)
	require.Equal(t, refreshReq, <-iss.issued)
	require.NoError(t, g.Close(context.Background()))
	st := g.Stats() // Close may have cut the renewal short
	require.EqualValues(t, 1, st.Refreshes+st.RefreshFailures, "one renewal")
	require.Zero(t, clock.Tickers(), "Close stopped the loops")
}
