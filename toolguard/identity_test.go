package toolguard_test

import (
	"context"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/internal/fakeclock"
	"github.com/ztagent/ztagent/toolguard"
)

// fixedSource hands out one SVID, valid or not, without an error: an
// identity source that breaks identity.Source's promise never to return an
// expired SVID.
type fixedSource struct{ svid *x509svid.SVID }

func (s fixedSource) GetX509SVID() (*x509svid.SVID, error) { return s.svid, nil }

// The guard checks the SVID's validity period itself, on its own clock,
// rather than trusting the source: a stale (or not yet valid) SVID handed
// out without an error is denied before anything else, and the tool does
// not run.
func TestGuardRefusesAStaleSVIDFromItsSource(t *testing.T) {
	minted := newClock()
	dev, err := identity.NewDevSource(context.Background(), identity.WithWorkloadPath("/agent/test"), identity.WithClock(minted.Now))
	require.NoError(t, err)
	t.Cleanup(func() { _ = dev.Close() })
	svid, err := dev.GetX509SVID()
	require.NoError(t, err)
	leaf := svid.Certificates[0]

	cases := []struct {
		name string
		at   time.Time // the guard's clock
		code string    // "": allowed
	}{
		{name: "within its validity", at: leaf.NotAfter.Add(-time.Second)},
		{name: "at NotAfter", at: leaf.NotAfter, code: toolguard.CodeIdentityExpired},
		{name: "past NotAfter", at: leaf.NotAfter.Add(time.Hour), code: toolguard.CodeIdentityExpired},
		{name: "before NotBefore", at: leaf.NotBefore.Add(-time.Second), code: toolguard.CodeIdentityExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := fakeclock.New(tc.at)
			f := newFixtureAt(t, clock.Now, toolguard.WithIdentity(fixedSource{svid}))
			var p probe
			_, err := wrap(t, f.guard, fetchTool, p.fn)(context.Background(), DocArgs{URL: "https://docs.example.com/"})
			rec := f.sink.last(t)
			if tc.code == "" {
				require.NoError(t, err)
				require.EqualValues(t, 1, p.ran.Load())
				require.Equal(t, agentID, rec.Subject)
				return
			}
			requireDenied(t, err, tc.code)
			require.Zero(t, p.ran.Load(), "the tool ran")
			require.False(t, rec.Allow)
			require.Equal(t, tc.code, rec.Code)
			require.Empty(t, rec.Subject, "a record names only an identity that was valid")
		})
	}
}
