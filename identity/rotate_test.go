package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"sync"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRotateMintsNewSVID(t *testing.T) {
	clock := newFakeClock()
	s := newTestSource(t, WithClock(clock.Now))

	before, err := s.GetX509SVID()
	require.NoError(t, err)
	clock.Advance(time.Minute)
	require.NoError(t, s.Rotate())
	after, err := s.GetX509SVID()
	require.NoError(t, err)

	require.NotEqual(t, before.Certificates[0].SerialNumber, after.Certificates[0].SerialNumber)
	require.False(t, before.Certificates[0].PublicKey.(*ecdsa.PublicKey).Equal(after.Certificates[0].PublicKey),
		"each rotation uses a fresh key")
	require.True(t, after.Certificates[0].NotAfter.After(before.Certificates[0].NotAfter))
	require.Equal(t, before.ID, after.ID)

	// Same CA: both verify.
	for _, svid := range []*x509svid.SVID{before, after} {
		_, _, err := x509svid.Verify(svid.Certificates, s, x509svid.WithTime(clock.Now()))
		require.NoError(t, err)
	}
}

func TestBackgroundRotation(t *testing.T) {
	s := newTestSource(t, withRotateEvery(10*time.Millisecond))
	first, err := s.GetX509SVID()
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		svid, err := s.GetX509SVID()
		return err == nil && svid.Certificates[0].SerialNumber.Cmp(first.Certificates[0].SerialNumber) != 0
	}, 5*time.Second, 5*time.Millisecond)
}

// The loop rotates at half the TTL and again a period after each rotation,
// never before; the fake moves the source's clock and its timers together.
func TestRotationLoopRotatesEveryHalfTTL(t *testing.T) {
	const ttl = time.Minute
	clock := newFakeClock()
	s := newTestSource(t, WithClock(clock.Now), WithSVIDTTL(ttl), withTimers(clock))
	serial := func() string {
		svid, err := s.GetX509SVID()
		require.NoError(t, err)
		return svid.Certificates[0].SerialNumber.String()
	}
	clock.WaitArmed(1)
	for i := range 3 {
		before := serial()
		clock.Advance(ttl/2 - time.Nanosecond)
		// No tick delivered: the loop cannot have rotated.
		require.Equal(t, i, clock.Ticks(), "rotation %d came early", i+1)
		require.Equal(t, before, serial())
		clock.Advance(time.Nanosecond)
		clock.WaitArmed(i + 2) // the loop rotated and waits for the next period
		require.NotEqual(t, before, serial(), "rotation %d did not come", i+1)
	}
}

func TestAuthorityRotation(t *testing.T) {
	const ttl = 5 * time.Minute
	clock := newFakeClock()
	s := newTestSource(t, WithClock(clock.Now), WithSVIDTTL(ttl))
	td := s.ID().TrustDomain()

	bundleSizes := func() (int, int) {
		xb, err := s.GetX509BundleForTrustDomain(td)
		require.NoError(t, err)
		jb, err := s.GetJWTBundleForTrustDomain(td)
		require.NoError(t, err)
		return len(xb.X509Authorities()), len(jb.JWTAuthorities())
	}

	tests := []struct {
		name       string
		advance    time.Duration
		wantNewCA  bool
		wantBundle int
	}{
		{name: "far from CA expiry keeps the CA", advance: time.Hour, wantBundle: 1},
		// CA lives minAuthorityTTL; within 2 TTLs of its end it is replaced.
		{name: "near CA expiry rotates the CA", advance: minAuthorityTTL - time.Hour - ttl, wantNewCA: true, wantBundle: 2},
		{name: "old CA kept while valid", advance: 2 * time.Minute, wantBundle: 2},
		{name: "old CA dropped after expiry", advance: time.Hour, wantBundle: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := s.GetX509SVID()
			require.NoError(t, err)
			clock.Advance(tt.advance)
			require.NoError(t, s.Rotate())
			after, err := s.GetX509SVID()
			require.NoError(t, err)

			sameCA := before.Certificates[0].CheckSignatureFrom(mustIssuer(t, s, after)) == nil
			require.Equal(t, tt.wantNewCA, !sameCA)

			_, _, err = x509svid.Verify(after.Certificates, s, x509svid.WithTime(clock.Now()))
			require.NoError(t, err)
			x, j := bundleSizes()
			require.Equal(t, tt.wantBundle, x)
			require.Equal(t, tt.wantBundle, j)
		})
	}
}

// mustIssuer returns the bundle CA that signed svid.
func mustIssuer(t *testing.T, s *DevSource, svid *x509svid.SVID) *x509.Certificate {
	t.Helper()
	b, err := s.GetX509BundleForTrustDomain(s.ID().TrustDomain())
	require.NoError(t, err)
	for _, ca := range b.X509Authorities() {
		if svid.Certificates[0].CheckSignatureFrom(ca) == nil {
			return ca
		}
	}
	t.Fatal("no issuer in bundle")
	return nil
}

func TestConcurrentUse(t *testing.T) {
	// assert, not require: FailNow must not be called from other goroutines.
	s := newTestSource(t, withRotateEvery(5*time.Millisecond))
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				switch i % 4 {
				case 0:
					svid, err := s.GetX509SVID()
					assert.NoError(t, err)
					_, _, err = x509svid.Verify(svid.Certificates, s)
					assert.NoError(t, err)
				case 1:
					assert.NoError(t, s.Rotate())
				case 2:
					tok, err := s.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "svc"})
					assert.NoError(t, err)
					_, err = jwtsvid.ParseAndValidate(tok.Marshal(), s, []string{"svc"})
					assert.NoError(t, err)
				case 3:
					_, err := s.GetJWTBundleForTrustDomain(s.ID().TrustDomain())
					assert.NoError(t, err)
				}
			}
		})
	}
	wg.Wait()
}
