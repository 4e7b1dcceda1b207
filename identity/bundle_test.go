package identity

import (
	"testing"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/stretchr/testify/require"
)

func TestBundlesForTrustDomain(t *testing.T) {
	s := newTestSource(t, WithTrustDomain("example.org"))
	tests := []struct {
		name    string
		td      spiffeid.TrustDomain
		wantErr string
	}{
		{name: "own trust domain", td: spiffeid.RequireTrustDomainFromString("example.org")},
		{name: "other trust domain", td: spiffeid.RequireTrustDomainFromString("evil.example"), wantErr: `trust domain "evil.example"`},
		{name: "zero trust domain", td: spiffeid.TrustDomain{}, wantErr: "identity: no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			xb, xerr := s.GetX509BundleForTrustDomain(tt.td)
			jb, jerr := s.GetJWTBundleForTrustDomain(tt.td)
			if tt.wantErr != "" {
				require.ErrorContains(t, xerr, tt.wantErr)
				require.ErrorContains(t, jerr, tt.wantErr)
				require.Nil(t, xb)
				require.Nil(t, jb)
				return
			}
			require.NoError(t, xerr)
			require.NoError(t, jerr)
			require.Equal(t, tt.td, xb.TrustDomain())
			require.Equal(t, tt.td, jb.TrustDomain())

			require.Len(t, xb.X509Authorities(), 1)
			ca := xb.X509Authorities()[0]
			require.True(t, ca.IsCA)
			require.Len(t, ca.URIs, 1)
			require.Equal(t, "spiffe://example.org", ca.URIs[0].String())
			require.Len(t, jb.JWTAuthorities(), 1)
		})
	}
}

func TestBundlesAreCopies(t *testing.T) {
	s := newTestSource(t)
	td := s.ID().TrustDomain()

	xb, err := s.GetX509BundleForTrustDomain(td)
	require.NoError(t, err)
	xb.SetX509Authorities(nil)
	jb, err := s.GetJWTBundleForTrustDomain(td)
	require.NoError(t, err)
	jb.SetJWTAuthorities(nil)

	xb, err = s.GetX509BundleForTrustDomain(td)
	require.NoError(t, err)
	require.Len(t, xb.X509Authorities(), 1)
	jb, err = s.GetJWTBundleForTrustDomain(td)
	require.NoError(t, err)
	require.Len(t, jb.JWTAuthorities(), 1)
}
