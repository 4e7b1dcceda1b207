package toolguard_test

import (
	"context"
	"errors"
	"strings"
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
	verifier := f.minter.Verifier(creds.WithVerifierClock(f.now.Now))
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
	f := newFixture(t, toolguard.WithIssuer(iss), toolguard.WithMaxCredentialTTL(time.Minute))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err = fetch(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	requireDenied(t, err, toolguard.CodeCredentialFailed)
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
	f := newFixture(t, toolguard.WithIssuer(iss), toolguard.WithMaxCredentialTTL(time.Minute), toolguard.WithDecider(reuseDecider(30)))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	task := &toolguard.Task{ID: "t-1"}
	ctx := toolguard.WithTask(context.Background(), task)
	_, err = fetch(ctx, DocArgs{URL: "https://docs.example.com/"})
	requireDenied(t, err, toolguard.CodeCredentialFailed)
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
	f := newFixture(t, toolguard.WithIssuer(flaky))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err := fetch(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.EqualValues(t, 1, f.guard.Stats().RevokeFailures)
	require.Eventually(t, func() bool {
		st := f.guard.Stats()
		return st.RevokeRetries >= 1 && st.RevokePending == 0
	}, 10*time.Second, 50*time.Millisecond)
	require.Zero(t, f.guard.Stats().RevokeLost)
	_, err = base.minter.Verifier(creds.WithVerifierClock(base.now.Now)).Verify(context.Background(), p.cred.Token(), p.cred.Audience)
	require.ErrorIs(t, err, creds.ErrRevoked, "the retry revoked it")

	// A revocation that never succeeds is counted as lost when the guard closes.
	flaky.failures.Store(1 << 20)
	_, err = fetch(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.NoError(t, f.guard.Close(context.Background()))
	require.EqualValues(t, 1, f.guard.Stats().RevokeLost)
}
