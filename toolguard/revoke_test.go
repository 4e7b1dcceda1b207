package toolguard_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard"
)

// The revoker's retries follow the guard's clock (WithClock), not real time:
// the whole backoff, a minute of it, passes here in moments of real time.
// A revocation that never succeeds is retried until it is given up, counted
// lost once, and no longer pending; closing the guard loses nothing more.
func TestRevocationRetriesFollowTheGuardClockUntilLost(t *testing.T) {
	base := newFixture(t)
	flaky := &flakyRevoker{Issuer: base.minter}
	const never = 1 << 20
	flaky.failures.Store(never)
	// The credential outlives the backoff, so the revocation is lost, not
	// overtaken by the credential's expiry.
	dec := deciderFunc(func(context.Context, *authz.Input) (authz.Decision, error) {
		return authz.Decision{Allow: true, Credential: authz.CredentialGrant{Audience: "urn:test", TTLSeconds: 300}}, nil
	})
	f := newFixture(t, toolguard.WithCredentialIssuer(flaky), toolguard.WithDecider(dec))
	_, err := wrap(t, f.guard, fetchTool, (&probe{}).fn)(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.EqualValues(t, 1, f.guard.Stats().RevokeFailures)
	require.EqualValues(t, 1, f.guard.Stats().RevokePending)

	for i, wait := range []time.Duration{time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second} {
		f.now.Advance(wait)
		require.Eventually(t, func() bool { return f.guard.Stats().RevokeRetries == uint64(i+1) }, 10*time.Second, 10*time.Millisecond, "retry %d", i+1)
	}
	require.Eventually(t, func() bool {
		st := f.guard.Stats()
		return st.RevokeLost == 1 && st.RevokePending == 0
	}, 10*time.Second, 10*time.Millisecond)

	require.NoError(t, f.guard.Close(context.Background()))
	st := f.guard.Stats()
	require.EqualValues(t, 1, st.RevokeLost, "counted once")
	require.EqualValues(t, 5, st.RevokeRetries)
	require.Zero(t, st.RevokeExpired)
	require.Zero(t, st.RevokeRecovered, "lost is not recovered")
	require.EqualValues(t, 6, never-flaky.failures.Load(), "attempts in all")
}
