package creds_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/internal/oidctest"
)

// RFC 8693 token exchange against a real authorization server whose protocol
// code this project did not write: internal/tools/oidcserver, built on
// zitadel/oidc's OpenID Provider. Ory Hydra, which the jwt-bearer grant is
// tested against, has no RFC 8693 (ory/hydra#1218).

const (
	rfc8693Issuer    = "spiffe://example.org" // iss of the agent's assertions, which the server requires
	rfc8693Agent     = "spiffe://example.org/agent/support"
	rfc8693Planner   = "spiffe://example.org/agent/planner"
	rfc8693User      = "user:alice@example.com"
	rfc8693Mail      = "https://mail.example.com"
	rfc8693Calendar  = "https://calendar.example.com"
	rfc8693ServerTTL = time.Minute
)

// rfc8693Server starts a server whose client may ask for the mail and
// calendar audiences and three scopes, trusting subject tokens verified by
// trust (a public key or a JWKS URL set by the caller).
func rfc8693Server(t *testing.T, trust oidctest.Config) *oidctest.Server {
	t.Helper()
	trust.SubjectIssuer = rfc8693Issuer
	trust.Audiences = []string{rfc8693Mail, rfc8693Calendar}
	trust.Scopes = []string{"email:read", "email:send", "calendar:read"}
	trust.TTL = rfc8693ServerTTL
	return oidctest.Start(t, trust)
}

// rfc8693Client makes the issuer's requests without keeping idle
// connections, whose goroutines would fail the package's goleak check.
func rfc8693Client() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func rfc8693ExchangeIssuer(t *testing.T, srv *oidctest.Server, key *ecdsa.PrivateKey, mod func(*creds.ExchangeConfig)) *creds.ExchangeIssuer {
	t.Helper()
	assertions, err := creds.SignedAssertions(key, "agent-key-1", rfc8693Issuer, rfc8693Agent)
	require.NoError(t, err)
	cfg := creds.ExchangeConfig{
		Grant:         creds.GrantTokenExchange,
		TokenURL:      srv.TokenURL,
		RevocationURL: srv.RevocationURL,
		ClientID:      srv.ClientID,
		ClientSecret:  srv.ClientSecret,
		Assertion:     assertions,
		HTTPClient:    rfc8693Client(),
		MaxTTL:        2 * time.Minute,
	}
	if mod != nil {
		mod(&cfg)
	}
	x, err := creds.NewExchangeIssuer(cfg)
	require.NoError(t, err)
	return x
}

func newP256(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

// signJWT signs claims as the trusted issuer would (a user's token held by
// the application, in the delegation tests).
func signJWT(t *testing.T, key any, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	require.NoError(t, err)
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	require.NoError(t, err)
	return tok
}

func exchangeCode(t *testing.T, err error) string {
	t.Helper()
	var xe *creds.ExchangeError
	require.ErrorAs(t, err, &xe)
	return xe.Code
}

func TestTokenExchangeRFC8693(t *testing.T) {
	trusted := newP256(t)
	srv := rfc8693Server(t, oidctest.Config{SubjectKey: &trusted.PublicKey})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("token for the decided audience and scopes, revoked at call end", func(t *testing.T) {
		x := rfc8693ExchangeIssuer(t, srv, trusted, nil)
		cred, err := x.Issue(ctx, creds.Request{Subject: rfc8693Agent, Audience: rfc8693Mail, Scopes: []string{"email:read", "email:send"}})
		require.NoError(t, err)
		require.Equal(t, rfc8693Mail, cred.Audience)
		require.ElementsMatch(t, []string{"email:read", "email:send"}, cred.Scopes)
		require.LessOrEqual(t, cred.TTL(), rfc8693ServerTTL)
		require.Positive(t, cred.TTL())
		require.NotContains(t, cred.String(), cred.Token())

		in, err := srv.Introspect(ctx, cred.Token())
		require.NoError(t, err)
		require.True(t, in.Active)
		require.Equal(t, oidctest.Audience{rfc8693Mail}, in.Audience)
		require.ElementsMatch(t, []string{"email:read", "email:send"}, strings.Fields(in.Scope))
		require.Equal(t, rfc8693Agent, in.Subject)
		require.Equal(t, srv.ClientID, in.ClientID)
		require.Equal(t, srv.Issuer, in.Issuer)
		require.Equal(t, cred.ID, in.JTI, "Credential.ID is the access token's jti")
		require.LessOrEqual(t, in.ExpiresAt-in.IssuedAt, int64(rfc8693ServerTTL/time.Second))
		require.Nil(t, in.Act, "no delegation, no act claim")

		require.NoError(t, x.Revoke(ctx, cred.ID))
		in, err = srv.Introspect(ctx, cred.Token())
		require.NoError(t, err)
		require.False(t, in.Active, "introspection after RFC 7009 revocation")
		require.NoError(t, x.Revoke(ctx, cred.ID), "revoking twice is fine")

		st := x.Stats()
		require.Equal(t, uint64(1), st.Issued)
		require.Equal(t, uint64(1), st.Revoked)
		require.Zero(t, st.RevokeFailures)
	})

	t.Run("each call gets its own token", func(t *testing.T) {
		x := rfc8693ExchangeIssuer(t, srv, trusted, nil)
		r := creds.Request{Subject: rfc8693Agent, Audience: rfc8693Calendar, Scopes: []string{"calendar:read"}}
		a, err := x.Issue(ctx, r)
		require.NoError(t, err)
		b, err := x.Issue(ctx, r)
		require.NoError(t, err)
		require.NotEqual(t, a.ID, b.ID)
		require.NoError(t, x.Revoke(ctx, a.ID))
		inA, err := srv.Introspect(ctx, a.Token())
		require.NoError(t, err)
		inB, err := srv.Introspect(ctx, b.Token())
		require.NoError(t, err)
		require.False(t, inA.Active)
		require.True(t, inB.Active, "revoking one call's token leaves another's alone")
		require.NoError(t, x.Revoke(ctx, b.ID))
	})

	refusals := []struct {
		name string
		key  *ecdsa.PrivateKey
		mod  func(*creds.ExchangeConfig)
		req  creds.Request
		code string
		log  string // what the server logged as its reason
	}{
		{
			name: "subject token signed by another key",
			key:  newP256(t),
			req:  creds.Request{Subject: rfc8693Agent, Audience: rfc8693Mail, Scopes: []string{"email:read"}},
			code: "invalid_request", log: "subject_token refused",
		},
		{
			name: "audience the client may not ask for",
			key:  trusted,
			req:  creds.Request{Subject: rfc8693Agent, Audience: "https://evil.example.com", Scopes: []string{"email:read"}},
			code: "invalid_target", log: `audience \"https://evil.example.com\" is not allowed`,
		},
		{
			name: "scope the client may not ask for",
			key:  trusted,
			req:  creds.Request{Subject: rfc8693Agent, Audience: rfc8693Mail, Scopes: []string{"email:delete"}},
			code: "invalid_scope", log: `scope \"email:delete\" is not allowed`,
		},
		{
			name: "subject token for another audience",
			key:  trusted,
			mod:  func(c *creds.ExchangeConfig) { c.AssertionAudience = "https://other-sts.example.com/token" },
			req:  creds.Request{Subject: rfc8693Agent, Audience: rfc8693Mail, Scopes: []string{"email:read"}},
			code: "invalid_request", log: "audience is not valid",
		},
		{
			name: "wrong client secret",
			key:  trusted,
			mod:  func(c *creds.ExchangeConfig) { c.ClientSecret = "not-the-secret" },
			req:  creds.Request{Subject: rfc8693Agent, Audience: rfc8693Mail, Scopes: []string{"email:read"}},
			code: "invalid_client",
		},
	}
	for _, tc := range refusals {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			x := rfc8693ExchangeIssuer(t, srv, tc.key, tc.mod)
			cred, err := x.Issue(ctx, tc.req)
			require.Error(t, err)
			require.Nil(t, cred, "a failed issue yields no credential: the tool does not run")
			require.Equal(t, tc.code, exchangeCode(t, err))
			require.Zero(t, x.Stats().Issued)
			if tc.log != "" {
				require.Contains(t, srv.Log(), tc.log)
			}
		})
	}

	t.Run("token outliving the request's TTL is revoked and refused", func(t *testing.T) {
		x := rfc8693ExchangeIssuer(t, srv, trusted, nil)
		cred, err := x.Issue(ctx, creds.Request{Subject: rfc8693Agent, Audience: rfc8693Mail, Scopes: []string{"email:read"}, TTL: 10 * time.Second})
		require.ErrorIs(t, err, creds.ErrTokenTooLong)
		require.Nil(t, cred)
		st := x.Stats()
		require.Equal(t, uint64(1), st.Refused)
		require.Equal(t, uint64(1), st.Revoked, "the server's token was revoked, not left to expire")
		require.Zero(t, st.RevokeFailures)
	})

	t.Run("delegation: the user's token as subject, the agent as actor", func(t *testing.T) {
		// The application holds a token naming the user, already acted on by
		// the planner (Request.Delegation = [user, planner]); the agent's
		// assertion is the actor token.
		userToken := signJWT(t, trusted, jose.ES256, map[string]any{
			"iss": rfc8693Issuer, "sub": rfc8693User, "aud": srv.TokenURL,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(), "jti": "user-token-1",
			"act": map[string]any{"sub": rfc8693Planner},
		})
		x := rfc8693ExchangeIssuer(t, srv, trusted, func(c *creds.ExchangeConfig) {
			c.DelegatedSubjectToken = func(_ context.Context, r creds.Request) (string, string, error) {
				if len(r.Delegation) == 0 || r.Delegation[0] != rfc8693User {
					return "", "", errors.New("no token for this principal")
				}
				return userToken, creds.TokenTypeJWT, nil
			}
		})
		cred, err := x.Issue(ctx, creds.Request{
			Subject: rfc8693Agent, Audience: rfc8693Mail, Scopes: []string{"email:send"},
			Delegation: []string{rfc8693User, rfc8693Planner},
		})
		require.NoError(t, err)

		in, err := srv.Introspect(ctx, cred.Token())
		require.NoError(t, err)
		require.True(t, in.Active)
		require.Equal(t, rfc8693User, in.Subject, "sub is the original principal")
		require.Equal(t, map[string]any{"sub": rfc8693Agent, "act": map[string]any{"sub": rfc8693Planner}}, in.Act,
			"act names the current actor outermost, prior actors nested (RFC 8693 section 4.1)")

		// The token itself carries the same chain for the resource server.
		claims := jwtPayload(t, cred.Token())
		require.Equal(t, rfc8693User, claims["sub"])
		require.Equal(t, in.Act, claims["act"])
		require.Equal(t, "email:send", claims["scope"])

		require.NoError(t, x.Revoke(ctx, cred.ID))
		in, err = srv.Introspect(ctx, cred.Token())
		require.NoError(t, err)
		require.False(t, in.Active)
	})

	t.Run("delegation refused when the subject token's may_act names someone else", func(t *testing.T) {
		userToken := signJWT(t, trusted, jose.ES256, map[string]any{
			"iss": rfc8693Issuer, "sub": rfc8693User, "aud": srv.TokenURL,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(),
			"may_act": map[string]any{"sub": rfc8693Planner},
		})
		x := rfc8693ExchangeIssuer(t, srv, trusted, func(c *creds.ExchangeConfig) {
			c.DelegatedSubjectToken = func(context.Context, creds.Request) (string, string, error) {
				return userToken, creds.TokenTypeJWT, nil
			}
		})
		cred, err := x.Issue(ctx, creds.Request{
			Subject: rfc8693Agent, Audience: rfc8693Mail, Scopes: []string{"email:send"},
			Delegation: []string{rfc8693User},
		})
		require.Nil(t, cred)
		require.Equal(t, "access_denied", exchangeCode(t, err))
	})

	t.Run("HS256 subject token keyed with the public key is refused", func(t *testing.T) {
		// Algorithm confusion: the attacker knows the public key and uses
		// its bytes as an HMAC secret.
		pub, err := json.Marshal(jose.JSONWebKey{Key: &trusted.PublicKey})
		require.NoError(t, err)
		forged := signJWT(t, pub, jose.HS256, map[string]any{
			"iss": rfc8693Issuer, "sub": rfc8693Agent, "aud": srv.TokenURL,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(),
		})
		status, body, err := srv.Exchange(ctx, map[string][]string{
			"subject_token": {forged}, "subject_token_type": {creds.TokenTypeJWT},
			"audience": {rfc8693Mail}, "scope": {"email:read"},
		})
		require.NoError(t, err)
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, "invalid_request", body["error"])
		require.NotContains(t, body, "access_token")
	})
}

// TestTokenExchangeRFC8693FromJWKS trusts subject tokens through a JWKS URL,
// as a deployment trusting a JWT-SVID issuer's bundle endpoint would.
func TestTokenExchangeRFC8693FromJWKS(t *testing.T) {
	trusted := newP256(t)
	other, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &trusted.PublicKey, KeyID: "agent-key-1", Algorithm: string(jose.ES256), Use: "sig"},
			{Key: other, KeyID: "unrelated", Algorithm: string(jose.EdDSA), Use: "sig"},
		}})
	}))
	defer jwks.Close()
	srv := rfc8693Server(t, oidctest.Config{SubjectJWKSURL: jwks.URL})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	x := rfc8693ExchangeIssuer(t, srv, trusted, nil)
	cred, err := x.Issue(ctx, creds.Request{Subject: rfc8693Agent, Audience: rfc8693Mail, Scopes: []string{"email:read"}})
	require.NoError(t, err)
	in, err := srv.Introspect(ctx, cred.Token())
	require.NoError(t, err)
	require.True(t, in.Active)
	require.Equal(t, rfc8693Agent, in.Subject)
	require.NoError(t, x.Revoke(ctx, cred.ID))
	in, err = srv.Introspect(ctx, cred.Token())
	require.NoError(t, err)
	require.False(t, in.Active)

	untrusted := rfc8693ExchangeIssuer(t, srv, newP256(t), nil)
	cred, err = untrusted.Issue(ctx, creds.Request{Subject: rfc8693Agent, Audience: rfc8693Mail, Scopes: []string{"email:read"}})
	require.Nil(t, cred)
	require.Equal(t, "invalid_request", exchangeCode(t, err))
}

// jwtPayload reads a JWT's claims without verifying them (introspection did).
func jwtPayload(t *testing.T, token string) map[string]any {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, tok.UnsafeClaimsWithoutVerification(&claims))
	return claims
}
