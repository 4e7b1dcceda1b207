package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/internal/spiretest"
)

// TestWorkloadAPIAgainstSPIRE runs the whole life of an agent's identity
// against a real SPIRE server and agent: first SVID, rotation, the agent
// going away (calls work until NotAfter, then deny), and recovery when it
// returns, without restarting this process.
func TestWorkloadAPIAgainstSPIRE(t *testing.T) {
	s := spiretest.Start(t)
	const id = "spiffe://" + spiretest.TrustDomain + "/agent/spire-test"
	s.Register(id, time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src, err := identity.FromWorkloadAPI(ctx, identity.WithAddr(s.Addr()), identity.WithTrustDomain(spiretest.TrustDomain))
	require.NoError(t, err)
	defer src.Close()

	// First SVID: our registration, verified against SPIRE's bundle.
	first, err := src.GetX509SVID()
	require.NoError(t, err)
	require.Equal(t, id, first.ID.String())
	_, _, err = x509svid.Verify(first.Certificates, src)
	require.NoError(t, err)
	lifetime := first.Certificates[0].NotAfter.Sub(first.Certificates[0].NotBefore)
	require.LessOrEqual(t, lifetime, 2*time.Minute, "short-lived SVIDs")
	t.Logf("first SVID serial %x, valid until %s", first.Certificates[0].SerialNumber, first.Certificates[0].NotAfter)

	// JWT-SVIDs come from the agent once per audience, then from the cache.
	jwt1, err := src.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "https://mail.example.com"})
	require.NoError(t, err)
	require.Equal(t, id, jwt1.ID.String())
	require.Equal(t, []string{"https://mail.example.com"}, jwt1.Audience)
	jwt2, err := src.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "https://mail.example.com"})
	require.NoError(t, err)
	require.Same(t, jwt1, jwt2)
	require.EqualValues(t, 1, src.Stats().JWTFetches)

	// Rotation: SPIRE pushes a new SVID before the old one expires, and the
	// next read uses it.
	rotated := waitFor(t, 90*time.Second, "rotation", func() (*x509svid.SVID, bool) {
		cur, err := src.GetX509SVID()
		return cur, err == nil && cur.Certificates[0].SerialNumber.Cmp(first.Certificates[0].SerialNumber) != 0
	})
	t.Logf("rotated SVID serial %x", rotated.Certificates[0].SerialNumber)

	// The agent goes away: the cached SVID keeps serving until NotAfter...
	s.StopAgent()
	cached, err := src.GetX509SVID()
	require.NoError(t, err)
	notAfter := cached.Certificates[0].NotAfter
	// ...and after it, the source refuses rather than hand out an expired SVID.
	waitFor(t, time.Until(notAfter)+30*time.Second, "expiry", func() (struct{}, bool) {
		_, err := src.GetX509SVID()
		if err == nil {
			require.True(t, time.Now().Before(notAfter.Add(time.Second)), "served an SVID past its NotAfter")
		}
		return struct{}{}, err != nil
	})
	_, err = src.GetX509SVID()
	require.ErrorIs(t, err, identity.ErrExpired)
	require.NotZero(t, src.Stats().WatchErrors)

	// The agent comes back: calls recover without a restart.
	s.StartAgent()
	back := waitFor(t, 90*time.Second, "recovery", func() (*x509svid.SVID, bool) {
		cur, err := src.GetX509SVID()
		return cur, err == nil
	})
	require.Equal(t, id, back.ID.String())
	require.True(t, back.Certificates[0].NotAfter.After(notAfter))
}

// An SVID from a trust domain the caller did not ask for gives no identity.
func TestWorkloadAPIForeignTrustDomain(t *testing.T) {
	s := spiretest.Start(t)
	s.Register("spiffe://"+spiretest.TrustDomain+"/agent/foreign-test", time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	// Wait until the agent serves the entry, so the error below is about
	// trust, not about timing.
	ok, err := identity.FromWorkloadAPI(ctx, identity.WithAddr(s.Addr()))
	require.NoError(t, err)
	require.NoError(t, ok.Close())

	short, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	src, err := identity.FromWorkloadAPI(short, identity.WithAddr(s.Addr()), identity.WithTrustDomain("example.org"))
	require.Nil(t, src)
	require.ErrorContains(t, err, `not in trust domain "example.org"`)
}

func waitFor[T any](t *testing.T, timeout time.Duration, what string, check func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v, ok := check()
		if ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
