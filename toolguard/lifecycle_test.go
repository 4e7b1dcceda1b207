package toolguard_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/toolguard"
)

// reuseDecider allows every call with a credential the task may share.
func reuseDecider(ttl int) deciderFunc {
	return func(context.Context, *authz.Input) (authz.Decision, error) {
		return authz.Decision{Allow: true, Credential: authz.CredentialGrant{
			Audience: "https://docs.example.com", Scopes: []string{"docs:read"}, TTLSeconds: ttl, Reuse: authz.ReuseTask,
		}}, nil
	}
}

func TestTaskCredentialsAreSharedRefreshedAndRevokedAtTaskEnd(t *testing.T) {
	f := newFixture(t, toolguard.WithDecider(reuseDecider(10)))
	var seen []*creds.Credential
	fetch := wrap(t, f.guard, fetchTool, func(ctx context.Context, _ DocArgs) (string, error) {
		c, _ := creds.FromContext(ctx)
		seen = append(seen, c)
		return "", nil
	})
	task := &toolguard.Task{ID: "t-1"}
	ctx := toolguard.WithTask(context.Background(), task)
	for range 2 {
		_, err := fetch(ctx, DocArgs{URL: "https://docs.example.com/"})
		require.NoError(t, err)
	}
	require.Len(t, seen, 2)
	require.Equal(t, seen[0].ID, seen[1].ID, "the task's calls share one credential")
	// The call that minted it carries the issued event; the next one says it
	// reused it, and nothing was issued for it.
	var spans []sdktrace.ReadOnlySpan
	for _, s := range f.spans.Ended() {
		if strings.HasPrefix(s.Name(), "execute_tool") {
			spans = append(spans, s)
		}
	}
	require.Len(t, spans, 2)
	for i, s := range spans {
		var events []string
		for _, e := range s.Events() {
			events = append(events, e.Name)
		}
		attrs := map[string]attribute.Value{}
		for _, a := range s.Attributes() {
			attrs[string(a.Key)] = a.Value
		}
		require.Equal(t, seen[0].ID, attrs["ztagent.credential.id"].AsString(), "span %d", i)
		if i == 0 {
			require.Equal(t, []string{"ztagent.credential.issued"}, events)
			require.NotContains(t, attrs, "ztagent.credential.reused")
		} else {
			require.Empty(t, events)
			require.True(t, attrs["ztagent.credential.reused"].AsBool())
		}
	}
	verifier := f.minter.Verifier(creds.WithClock(f.now.Now))
	_, err := verifier.Verify(context.Background(), seen[0].Token(), seen[0].Audience)
	require.NoError(t, err, "not revoked at call end")

	// Past half its life the guard renews it in the background.
	f.now.Advance(6 * time.Second)
	require.Eventually(t, func() bool { return f.guard.Stats().Refreshes >= 1 }, 10*time.Second, 50*time.Millisecond)
	_, err = fetch(ctx, DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.NotEqual(t, seen[0].ID, seen[2].ID)

	// Ending the task revokes every credential it used; later calls are denied.
	require.NoError(t, task.End(context.Background()))
	for _, c := range []*creds.Credential{seen[0], seen[2]} {
		_, err = verifier.Verify(context.Background(), c.Token(), c.Audience)
		require.ErrorIs(t, err, creds.ErrRevoked)
	}
	_, err = fetch(ctx, DocArgs{URL: "https://docs.example.com/"})
	requireDenied(t, err, toolguard.CodeTaskEnded)
	require.NoError(t, task.End(context.Background()), "idempotent")
}

func TestCallCredentialsWithoutTaskAreNotShared(t *testing.T) {
	f := newFixture(t, toolguard.WithDecider(reuseDecider(10)))
	var ids []string
	fetch := wrap(t, f.guard, fetchTool, func(ctx context.Context, _ DocArgs) (string, error) {
		c, _ := creds.FromContext(ctx)
		ids = append(ids, c.ID)
		return "", nil
	})
	for range 2 {
		_, err := fetch(context.Background(), DocArgs{URL: "https://docs.example.com/"})
		require.NoError(t, err)
	}
	require.NotEqual(t, ids[0], ids[1])
}

// longIssuer ignores the TTL it is asked for.
type longIssuer struct {
	creds.Issuer
	revoked atomic.Int32
}

func (l *longIssuer) Issue(ctx context.Context, r creds.Request) (*creds.Credential, error) {
	r.TTL = time.Hour
	return l.Issuer.Issue(ctx, r)
}

func (l *longIssuer) Revoke(ctx context.Context, id string) error {
	l.revoked.Add(1)
	return l.Issuer.Revoke(ctx, id)
}

func TestCredentialOverMaxTTLIsRevokedAndRefused(t *testing.T) {
	base := newFixture(t)
	m, err := creds.NewMinter(creds.WithMaxTTL(2*time.Hour), creds.WithClock(base.now.Now))
	require.NoError(t, err)
	iss := &longIssuer{Issuer: m}
	f := newFixture(t, toolguard.WithCredentialIssuer(iss), toolguard.WithMaxCredentialTTL(time.Minute))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err = fetch(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	requireDenied(t, err, toolguard.CodeCredentialUnavailable)
	require.Zero(t, p.ran.Load())
	require.EqualValues(t, 1, iss.revoked.Load())
}

// A task's shared credential goes through the same lifetime check as a
// call's: one the issuer made too long-lived is revoked and never kept for
// the task, so the next call gets a good one instead of the bad one again.
func TestTaskCredentialOverMaxTTLIsNotKept(t *testing.T) {
	base := newFixture(t)
	m, err := creds.NewMinter(creds.WithMaxTTL(2*time.Hour), creds.WithClock(base.now.Now))
	require.NoError(t, err)
	iss := &onceLongIssuer{longIssuer: longIssuer{Issuer: m}}
	f := newFixture(t, toolguard.WithCredentialIssuer(iss), toolguard.WithMaxCredentialTTL(time.Minute), toolguard.WithDecider(reuseDecider(30)))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	task := &toolguard.Task{ID: "t-1"}
	ctx := toolguard.WithTask(context.Background(), task)
	_, err = fetch(ctx, DocArgs{URL: "https://docs.example.com/"})
	requireDenied(t, err, toolguard.CodeCredentialUnavailable)
	require.EqualValues(t, 1, iss.revoked.Load())
	_, err = fetch(ctx, DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.EqualValues(t, 1, p.ran.Load())
	require.NoError(t, task.End(context.Background()))
}

// onceLongIssuer ignores the TTL it is asked for the first time only.
type onceLongIssuer struct {
	longIssuer
	calls atomic.Int32
}

func (o *onceLongIssuer) Issue(ctx context.Context, r creds.Request) (*creds.Credential, error) {
	if o.calls.Add(1) == 1 {
		return o.longIssuer.Issue(ctx, r)
	}
	return o.Issuer.Issue(ctx, r)
}

// flakyRevoker fails the first n revocations.
type flakyRevoker struct {
	creds.Issuer
	failures atomic.Int32
}

func (f *flakyRevoker) Revoke(ctx context.Context, id string) error {
	if f.failures.Add(-1) >= 0 {
		return errors.New("revocation endpoint unavailable")
	}
	return f.Issuer.Revoke(ctx, id)
}

func TestFailedRevocationsAreRetriedAndCounted(t *testing.T) {
	base := newFixture(t)
	flaky := &flakyRevoker{Issuer: base.minter}
	flaky.failures.Store(1)
	f := newFixture(t, toolguard.WithCredentialIssuer(flaky))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err := fetch(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.EqualValues(t, 1, f.guard.Stats().RevokeFailures)
	f.now.Advance(time.Second) // the first retry is due a second later, by the guard's clock
	require.Eventually(t, func() bool {
		st := f.guard.Stats()
		return st.RevokeRetries >= 1 && st.RevokePending == 0
	}, 10*time.Second, 50*time.Millisecond)
	require.Zero(t, f.guard.Stats().RevokeLost)
	require.EqualValues(t, 1, f.guard.Stats().RevokeRecovered, "the retry recovered it")
	_, err = base.minter.Verifier(creds.WithClock(base.now.Now)).Verify(context.Background(), p.cred.Token(), p.cred.Audience)
	require.ErrorIs(t, err, creds.ErrRevoked, "the retry revoked it")

	// A revocation that never succeeds is counted as lost when the guard closes.
	flaky.failures.Store(1 << 20)
	_, err = fetch(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.NoError(t, f.guard.Close(context.Background()))
	require.EqualValues(t, 1, f.guard.Stats().RevokeLost)
}

// countingIssuer counts the credentials issued per audience, and revocations.
type countingIssuer struct {
	creds.Issuer
	mu      sync.Mutex
	issued  map[string]int
	revoked atomic.Int32
}

func (c *countingIssuer) Revoke(ctx context.Context, id string) error {
	c.revoked.Add(1)
	return c.Issuer.Revoke(ctx, id)
}

func (c *countingIssuer) Issue(ctx context.Context, r creds.Request) (*creds.Credential, error) {
	c.mu.Lock()
	c.issued[r.Audience]++
	c.mu.Unlock()
	return c.Issuer.Issue(ctx, r)
}

// countingGuard is a guard on f's identity, clock, spans and sink that
// decides with dec and issues through a countingIssuer of f's minter.
func countingGuard(t *testing.T, f *fixture, dec authz.Decider) (*toolguard.Guard, *countingIssuer) {
	t.Helper()
	iss := &countingIssuer{Issuer: f.minter, issued: map[string]int{}}
	g, err := toolguard.New(context.Background(), toolguard.WithIdentity(f.id), toolguard.WithCredentialIssuer(iss),
		toolguard.WithDecider(dec), toolguard.WithTracerProvider(f.tp), toolguard.WithSink(f.sink), toolguard.WithClock(f.now.Now))
	require.NoError(t, err)
	return g, iss
}

func (c *countingIssuer) count(aud string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.issued[aud]
}

// A task's credential is renewed only while the task lives and its calls
// use it: one whose task expired, or that no call took for two of its
// lifetimes, is let expire instead of being minted anew until Task.End.
// Another task's credential in use is renewed meanwhile, which shows the
// refresher ran. Closing the guard revokes what tasks never ended hold.
func TestTaskCredentialsAreNotRenewedForIdleOrExpiredTasks(t *testing.T) {
	const quietAud, busyAud = "https://quiet.example.com", "https://docs.example.com"
	dec := deciderFunc(func(_ context.Context, in *authz.Input) (authz.Decision, error) {
		aud, ttl := busyAud, 30
		if in.Task.ID == "quiet" {
			aud, ttl = quietAud, 10
		}
		return authz.Decision{Allow: true, Credential: authz.CredentialGrant{Audience: aud, TTLSeconds: ttl, Reuse: authz.ReuseTask}}, nil
	})
	for _, tc := range []struct {
		name    string
		expires time.Duration // the quiet task's expiry; 0: none
		advance time.Duration // past half of the busy credential's 30s
	}{
		{name: "expired task", expires: 5 * time.Second, advance: 16 * time.Second},
		{name: "idle task", advance: 21 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			g, iss := countingGuard(t, f, dec)
			var p probe
			fetch := wrap(t, g, fetchTool, p.fn)
			quiet := &toolguard.Task{ID: "quiet"}
			if tc.expires > 0 {
				quiet.ExpiresAt = f.now.Now().Add(tc.expires)
			}
			_, err := fetch(toolguard.WithTask(context.Background(), quiet), DocArgs{URL: "https://docs.example.com/"})
			require.NoError(t, err)
			_, err = fetch(toolguard.WithTask(context.Background(), &toolguard.Task{ID: "busy"}), DocArgs{URL: "https://docs.example.com/"})
			require.NoError(t, err)
			busyCred := p.cred

			f.now.Advance(tc.advance)
			require.Eventually(t, func() bool { return iss.count(busyAud) == 2 }, 10*time.Second, 20*time.Millisecond, "the busy task's credential is renewed")
			require.Equal(t, 1, iss.count(quietAud), "the quiet task's credential is not")

			require.NoError(t, g.Close(context.Background()))
			verifier := f.minter.Verifier(creds.WithClock(f.now.Now))
			_, err = verifier.Verify(context.Background(), busyCred.Token(), busyCred.Audience)
			require.ErrorIs(t, err, creds.ErrRevoked, "closing the guard revokes the task's credentials")
		})
	}
}

// Closing the guard revokes a task's credential; ending the task afterwards
// does not revoke it again.
func TestTaskEndAfterGuardCloseRevokesNothingTwice(t *testing.T) {
	dec := deciderFunc(func(context.Context, *authz.Input) (authz.Decision, error) {
		return authz.Decision{Allow: true, Credential: authz.CredentialGrant{Audience: "https://docs.example.com", TTLSeconds: 30, Reuse: authz.ReuseTask}}, nil
	})
	f := newFixture(t)
	g, iss := countingGuard(t, f, dec)
	var p probe
	task := &toolguard.Task{ID: "t"}
	_, err := wrap(t, g, fetchTool, p.fn)(toolguard.WithTask(context.Background(), task), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.NoError(t, g.Close(context.Background()))
	require.EqualValues(t, 1, iss.revoked.Load())
	require.NoError(t, task.End(context.Background()))
	require.EqualValues(t, 1, iss.revoked.Load(), "revoked once")
}
