package creds_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/internal/hydratest"
)

// TestExchangeHydraJWTBearer runs the RFC 7523 jwt-bearer grant against a
// real Ory Hydra v2.3.0 (built from the module proxy; skipped under -short).
// Hydra does not serve RFC 8693 (ory/hydra#1218), so token exchange is tested
// against zitadel/oidc in exchange_rfc8693_test.go.
func TestExchangeHydraJWTBearer(t *testing.T) {
	h := hydratest.Start(t)

	const (
		agentIssuer = "spiffe://example.org"
		kid         = "agent-key-1"
		secret      = "hydra-test-client-secret"
	)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	h.CreateTrust(hydratest.Trust{
		Issuer:  agentIssuer,
		Subject: testSubject,
		Scopes:  []string{"email:read", "email:send"},
		JWK:     jose.JSONWebKey{Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"},
	})
	// The client may ask for email:admin, the trust relationship may not:
	// Hydra must refuse it on the trust relationship's account.
	h.CreateClient(hydratest.Client{
		ID: "ztagent-agent", Secret: secret,
		GrantTypes: []string{creds.GrantJWTBearer},
		Scopes:     []string{"email:read", "email:send", "email:admin"},
		Audience:   []string{testAudience},
	})

	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	newIssuer := func(t *testing.T, signer *ecdsa.PrivateKey, opts ...func(*creds.ExchangeConfig)) *creds.ExchangeIssuer {
		t.Helper()
		src, err := creds.SignedAssertions(signer, kid, agentIssuer, testSubject)
		require.NoError(t, err)
		cfg := creds.ExchangeConfig{
			Grant:         creds.GrantJWTBearer,
			TokenURL:      h.TokenURL(),
			RevocationURL: h.RevocationURL(),
			ClientID:      "ztagent-agent",
			ClientSecret:  secret,
			Assertion:     src,
			HTTPClient:    &http.Client{Timeout: 30 * time.Second, Transport: transport},
			MaxTTL:        time.Minute,
			SendAudience:  true,
		}
		for _, o := range opts {
			o(&cfg)
		}
		x, err := creds.NewExchangeIssuer(cfg)
		require.NoError(t, err)
		return x
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("token with the requested scope and TTL, revoked through RFC 7009", func(t *testing.T) {
		x := newIssuer(t, key)
		c, err := x.Issue(ctx, creds.Request{Subject: testSubject, Audience: testAudience, Scopes: []string{"email:read"}})
		require.NoError(t, err)
		require.NotEmpty(t, c.Token())
		require.False(t, strings.HasPrefix(c.ID, "sha256:"), "Hydra's JWT access tokens are named by their jti")
		require.LessOrEqual(t, c.TTL(), time.Minute)
		require.Equal(t, []string{"email:read"}, c.Scopes)

		in := h.Introspect(c.Token())
		require.True(t, in.Active)
		require.Equal(t, "email:read", in.Scope)
		require.Equal(t, testSubject, in.Subject)
		require.Equal(t, "ztagent-agent", in.ClientID)
		require.Contains(t, in.Audience, testAudience)
		require.LessOrEqual(t, time.Duration(in.ExpiresAt-in.IssuedAt)*time.Second, time.Minute, "exp-iat within MaxTTL")

		require.NoError(t, x.Revoke(ctx, c.ID))
		require.False(t, h.Introspect(c.Token()).Active, "Hydra shows the revoked token inactive")
		require.Equal(t, creds.ExchangeStats{Issued: 1, Revoked: 1}, x.Stats())
	})

	t.Run("a token that outlives MaxTTL is revoked at once and refused", func(t *testing.T) {
		rec := &tokenRecorder{base: transport}
		x := newIssuer(t, key, func(c *creds.ExchangeConfig) {
			c.MaxTTL = 30 * time.Second
			c.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: rec}
		})
		c, err := x.Issue(ctx, creds.Request{Subject: testSubject, Audience: testAudience, Scopes: []string{"email:read"}})
		require.ErrorIs(t, err, creds.ErrTokenTooLong)
		require.Nil(t, c)
		require.NotEmpty(t, rec.token, "Hydra did issue a token")
		require.False(t, h.Introspect(rec.token).Active, "and it was revoked")
		require.Equal(t, creds.ExchangeStats{Refused: 1, Revoked: 1}, x.Stats())
	})

	t.Run("scope outside the trust relationship is refused", func(t *testing.T) {
		x := newIssuer(t, key)
		c, err := x.Issue(ctx, creds.Request{Subject: testSubject, Audience: testAudience, Scopes: []string{"email:read", "email:admin"}})
		require.Error(t, err)
		require.Nil(t, c)
		var xe *creds.ExchangeError
		require.True(t, errors.As(err, &xe), "%v", err)
		require.Equal(t, "invalid_scope", xe.Code, "%v", err)
		require.Zero(t, x.Stats().Issued)
	})

	t.Run("assertion signed by an untrusted key is refused", func(t *testing.T) {
		other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		x := newIssuer(t, other)
		c, err := x.Issue(ctx, creds.Request{Subject: testSubject, Audience: testAudience, Scopes: []string{"email:read"}})
		require.Error(t, err)
		require.Nil(t, c)
		var xe *creds.ExchangeError
		require.True(t, errors.As(err, &xe), "%v", err)
		require.Equal(t, "invalid_grant", xe.Code, "%v", err)
	})
}

// tokenRecorder keeps the access token of the last token response, so the
// test can ask Hydra about a token the issuer refused to hand out.
type tokenRecorder struct {
	base  http.RoundTripper
	token string
}

func (r *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/oauth2/token") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(body, &tok) == nil && tok.AccessToken != "" {
		r.token = tok.AccessToken
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
