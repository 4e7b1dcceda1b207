package identity

import (
	"context"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/stretchr/testify/require"
)

func TestFetchJWTSVIDValidatesForItsAudienceOnly(t *testing.T) {
	const ttl = 2 * time.Minute
	s := newTestSource(t, WithTrustDomain("example.org"), WithWorkloadPath("/agent/support"), WithSVIDTTL(ttl))
	svid, err := s.FetchJWTSVID(context.Background(), jwtsvid.Params{Audience: "https://mail.example.com"})
	require.NoError(t, err)
	require.Equal(t, s.ID(), svid.ID)
	require.Equal(t, []string{"https://mail.example.com"}, svid.Audience)

	tests := []struct {
		name     string
		audience []string
		wantErr  string
	}{
		{name: "its audience", audience: []string{"https://mail.example.com"}},
		{name: "another audience", audience: []string{"https://bank.example.com"}, wantErr: "expected audience"},
		{name: "no shared audience", audience: []string{"a", "b"}, wantErr: "expected audience"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jwtsvid.ParseAndValidate(svid.Marshal(), s, tt.audience)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "spiffe://example.org/agent/support", got.ID.String())
		})
	}

	// Header and claims: ES256, a kid that is in the bundle, TTL = SVID TTL.
	tok, err := jwt.ParseSigned(svid.Marshal(), []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	require.Len(t, tok.Headers, 1)
	require.Equal(t, string(jose.ES256), tok.Headers[0].Algorithm)
	bundle, err := s.GetJWTBundleForTrustDomain(s.ID().TrustDomain())
	require.NoError(t, err)
	require.True(t, bundle.HasJWTAuthority(tok.Headers[0].KeyID))
	var claims jwt.Claims
	require.NoError(t, tok.UnsafeClaimsWithoutVerification(&claims))
	require.Equal(t, ttl, claims.Expiry.Time().Sub(claims.IssuedAt.Time()))
}

func TestFetchJWTSVIDRejectsForeignKey(t *testing.T) {
	a := newTestSource(t)
	b := newTestSource(t) // same trust domain, different keys
	svid, err := a.FetchJWTSVID(context.Background(), jwtsvid.Params{Audience: "svc"})
	require.NoError(t, err)
	_, err = jwtsvid.ParseAndValidate(svid.Marshal(), b, []string{"svc"})
	require.ErrorContains(t, err, "no JWT authority")
}

func TestFetchJWTSVIDParams(t *testing.T) {
	s := newTestSource(t, WithTrustDomain("example.org"), WithWorkloadPath("/agent/a"))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name    string
		ctx     context.Context
		params  jwtsvid.Params
		wantErr string
		wantIs  error
	}{
		{name: "audience only", ctx: context.Background(), params: jwtsvid.Params{Audience: "svc"}},
		{name: "own subject", ctx: context.Background(), params: jwtsvid.Params{Audience: "svc", Subject: s.ID()}},
		{name: "no audience", ctx: context.Background(), params: jwtsvid.Params{}, wantErr: "audience is required"},
		{
			name:    "extra audiences",
			ctx:     context.Background(),
			params:  jwtsvid.Params{Audience: "svc", ExtraAudiences: []string{"other"}},
			wantErr: "exactly one audience",
		},
		{
			name:    "foreign subject",
			ctx:     context.Background(),
			params:  jwtsvid.Params{Audience: "svc", Subject: spiffeid.RequireFromString("spiffe://example.org/agent/b")},
			wantErr: "is not this source's id",
		},
		{name: "canceled context", ctx: canceled, params: jwtsvid.Params{Audience: "svc"}, wantIs: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svid, err := s.FetchJWTSVID(tt.ctx, tt.params)
			if tt.wantErr == "" && tt.wantIs == nil {
				require.NoError(t, err)
				require.Equal(t, s.ID(), svid.ID)
				return
			}
			require.Nil(t, svid)
			require.ErrorContains(t, err, "identity: fetch jwt-svid: ")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
			}
			if tt.wantIs != nil {
				require.ErrorIs(t, err, tt.wantIs)
			}
		})
	}
}

func TestFetchJWTSVIDAcrossAuthorityRotation(t *testing.T) {
	const ttl = time.Minute
	clock := newFakeClock()
	s := newTestSource(t, WithClock(clock.Now), WithSVIDTTL(ttl))

	old, err := s.FetchJWTSVID(context.Background(), jwtsvid.Params{Audience: "svc"})
	require.NoError(t, err)

	// Force a CA and JWT key rotation without moving the clock far from the wall
	// clock (go-spiffe checks JWT expiry against real time).
	s.mu.Lock()
	st := s.st.Load()
	nearEnd := *st.current
	nearEnd.notAfter = clock.Now().Add(ttl)
	s.st.Store(newState(s.id.TrustDomain(), st.svid, &nearEnd, nil))
	s.mu.Unlock()
	require.NoError(t, s.Rotate())

	fresh, err := s.FetchJWTSVID(context.Background(), jwtsvid.Params{Audience: "svc"})
	require.NoError(t, err)
	for name, tok := range map[string]*jwtsvid.SVID{"old key": old, "new key": fresh} {
		_, err := jwtsvid.ParseAndValidate(tok.Marshal(), s, []string{"svc"})
		require.NoError(t, err, name)
	}
	oldKid := mustKid(t, old)
	require.NotEqual(t, oldKid, mustKid(t, fresh))
}

func mustKid(t *testing.T, svid *jwtsvid.SVID) string {
	t.Helper()
	tok, err := jwt.ParseSigned(svid.Marshal(), []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	return tok.Headers[0].KeyID
}
