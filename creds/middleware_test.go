package creds

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
)

const mailAud = "https://mail.example.com"

// protected runs a request through Middleware in front of a handler that
// reports the agent it saw.
func protected(t *testing.T, v *Verifier, opts ...MiddlewareOption) http.Handler {
	t.Helper()
	return Middleware(v, mailAud, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFromContext(r.Context())
		require.True(t, ok)
		_, _ = io.WriteString(w, "hello "+c.Agent())
	}))
}

func serve(h http.Handler, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/messages", nil)
	for _, v := range header {
		req.Header.Add("Authorization", v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestMiddlewareRejects covers the issue's "Bad input" list end to end,
// through a RemoteVerifier that loaded the minter's JWKS over HTTP.
func TestMiddlewareRejects(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	key := mustKey(t)
	m := newTestMinter(t, clk, WithSigningKey(key))
	srv := minterServer(t, m, nil)
	v, err := NewRemoteVerifier(ctx, srv.URL+"/jwks", defaultIssuer, WithHTTPClient(srv.Client()),
		WithRevocationChecker(m), WithVerifierOptions(WithClock(clk.Now)))
	require.NoError(t, err)
	defer v.Close()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	issue := func(t *testing.T, r Request) *Credential {
		c, err := m.Issue(ctx, r)
		require.NoError(t, err)
		return c
	}
	tests := []struct {
		name       string
		header     func(t *testing.T, h http.Handler) []string // may use h to spend a token first
		wantStatus int
		wantAuth   string // WWW-Authenticate
	}{
		{"no credentials", func(*testing.T, http.Handler) []string { return nil },
			401, `Bearer realm="https://mail.example.com"`},
		{"another scheme", func(*testing.T, http.Handler) []string { return []string{"Basic dXNlcjpwYXNz"} },
			401, `Bearer realm="https://mail.example.com"`},
		{"two Authorization headers", func(t *testing.T, _ http.Handler) []string {
			tok := issue(t, testRequest()).Token()
			return []string{"Bearer " + tok, "Bearer " + tok}
		}, 400, `Bearer realm="https://mail.example.com", error="invalid_request", error_description="invalid_request"`},
		{"empty bearer", func(*testing.T, http.Handler) []string { return []string{"Bearer "} },
			400, `Bearer realm="https://mail.example.com", error="invalid_request", error_description="invalid_request"`},
		{"another audience", func(t *testing.T, _ http.Handler) []string {
			r := testRequest()
			r.Audience = "https://calendar.example.com"
			return []string{"Bearer " + issue(t, r).Token()}
		}, 401, invalidToken("token is for another audience")},
		{"expired", func(t *testing.T, _ http.Handler) []string {
			r := testRequest()
			r.TTL = time.Second
			c := issue(t, r)
			clk.Advance(time.Second)
			return []string{"Bearer " + c.Token()}
		}, 401, invalidToken("token expired")},
		{"revoked", func(t *testing.T, _ http.Handler) []string {
			c := issue(t, testRequest())
			require.NoError(t, m.Revoke(ctx, c.ID))
			return []string{"Bearer " + c.Token()}
		}, 401, invalidToken("token revoked")},
		{"replayed jti", func(t *testing.T, h http.Handler) []string {
			c := issue(t, testRequest())
			require.Equal(t, http.StatusOK, serve(h, "Bearer "+c.Token()).Code, "first use")
			return []string{"Bearer " + c.Token()}
		}, 401, invalidToken("token replayed")},
		{"alg none", func(t *testing.T, _ http.Handler) []string {
			return []string{"Bearer " + unsignedToken(t, `{"alg":"none","typ":"at+jwt"}`, issue(t, testRequest()).Token())}
		}, 401, invalidToken("bad signature or algorithm")},
		{"HS256 signed with the public key bytes", func(t *testing.T, _ http.Handler) []string {
			return []string{"Bearer " + forge(t, jose.HS256, []byte(m.PublicKey()), "at+jwt", goodClaims())}
		}, 401, invalidToken("bad signature or algorithm")},
		{"RS256", func(t *testing.T, _ http.Handler) []string {
			return []string{"Bearer " + forge(t, jose.RS256, rsaKey, "at+jwt", goodClaims())}
		}, 401, invalidToken("bad signature or algorithm")},
		{"signed by another key", func(t *testing.T, _ http.Handler) []string {
			return []string{"Bearer " + forge(t, jose.EdDSA, mustKey(t), "at+jwt", goodClaims())}
		}, 401, invalidToken("bad signature or algorithm")},
		{"garbage", func(*testing.T, http.Handler) []string { return []string{"Bearer not.a.token"} },
			401, invalidToken("malformed token")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Set(t0)
			h := protected(t, v)
			hdr := tt.header(t, h)
			rec := serve(h, hdr...)
			require.Equal(t, tt.wantStatus, rec.Code)
			require.Equal(t, tt.wantAuth, rec.Header().Get("WWW-Authenticate"))
			for _, hv := range hdr {
				if len(hv) > len("Bearer ")+10 {
					require.NotContains(t, rec.Body.String(), hv[len("Bearer "):], "never echo the token")
					require.NotContains(t, rec.Header().Get("WWW-Authenticate"), hv[len("Bearer "):])
				}
			}
		})
	}
}

func invalidToken(reason string) string {
	return `Bearer realm="https://mail.example.com", error="invalid_token", error_description="` + reason + `"`
}

func TestMiddlewareAcceptsAndReuse(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	r := testRequest()
	r.Audience = mailAud
	r.Delegation = []string{"user:alice@example.com"}
	c, err := m.Issue(ctx, r)
	require.NoError(t, err)

	h := protected(t, m.Verifier())
	rec := serve(h, "bearer "+c.Token()) // the scheme is case-insensitive
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "hello "+r.Subject, rec.Body.String())
	require.Equal(t, http.StatusUnauthorized, serve(h, "Bearer "+c.Token()).Code)

	reuse := protected(t, m.Verifier(), AllowReuse())
	for range 3 {
		require.Equal(t, http.StatusOK, serve(reuse, "Bearer "+c.Token()).Code)
	}

	// A verifier that checks replay itself wins over AllowReuse, and the
	// middleware does not count the token a second time.
	own := protected(t, m.Verifier(WithReplayCheck()), AllowReuse())
	require.Equal(t, http.StatusOK, serve(own, "Bearer "+c.Token()).Code)
	require.Equal(t, http.StatusUnauthorized, serve(own, "Bearer "+c.Token()).Code)
}

type failingRevocations struct{}

func (failingRevocations) Revoked(context.Context, string) (bool, error) {
	return false, io.ErrUnexpectedEOF
}

func TestMiddlewareUnavailable(t *testing.T) {
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	r := testRequest()
	r.Audience = mailAud
	c, err := m.Issue(context.Background(), r)
	require.NoError(t, err)
	v, err := NewVerifier(m.PublicKey(), defaultIssuer, failingRevocations{}, WithClock(clk.Now))
	require.NoError(t, err)
	for name, h := range map[string]http.Handler{
		"revocation check fails": protected(t, v),
		"nil verifier":           protected(t, nil),
		"zero verifier":          protected(t, &Verifier{}),
	} {
		t.Run(name, func(t *testing.T) {
			rec := serve(h, "Bearer "+c.Token())
			require.Equal(t, http.StatusServiceUnavailable, rec.Code)
			require.NotContains(t, rec.Body.String(), c.Token())
		})
	}
}

func TestClaimsFromContextEmpty(t *testing.T) {
	c, ok := ClaimsFromContext(context.Background())
	require.False(t, ok)
	require.Nil(t, c)
}
