package oidctest_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ztagent/ztagent/internal/oidctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The server's own policy, tested with raw requests: what the creds issuer
// never sends but a misbehaving client could.
func TestServerPolicy(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	srv := oidctest.Start(t, oidctest.Config{
		SubjectKey: pub,
		Audiences:  []string{"https://mail.example.com"},
		Scopes:     []string{"email:read"},
		TTL:        2 * time.Second,
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	subject := func(mod func(map[string]any)) string {
		claims := map[string]any{
			"sub": "spiffe://example.org/agent/a", "aud": srv.TokenURL,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(),
		}
		if mod != nil {
			mod(claims)
		}
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv}, nil)
		require.NoError(t, err)
		tok, err := jwt.Signed(s).Claims(claims).Serialize()
		require.NoError(t, err)
		return tok
	}
	form := func(mod func(url.Values)) url.Values {
		v := url.Values{
			"subject_token": {subject(nil)}, "subject_token_type": {"urn:ietf:params:oauth:token-type:jwt"},
			"audience": {"https://mail.example.com"}, "scope": {"email:read"},
		}
		if mod != nil {
			mod(v)
		}
		return v
	}

	refused := []struct {
		name string
		form url.Values
		code string
	}{
		{"no audience", form(func(v url.Values) { v.Del("audience") }), "invalid_target"},
		{"resource instead of audience", form(func(v url.Values) { v.Set("resource", "https://mail.example.com") }), "invalid_target"},
		{"refresh token requested", form(func(v url.Values) {
			v.Set("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token")
		}), "invalid_request"},
		{"expired subject token", form(func(v url.Values) {
			v.Set("subject_token", subject(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }))
		}), "invalid_request"},
		{"subject token not valid yet", form(func(v url.Values) {
			v.Set("subject_token", subject(func(c map[string]any) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() }))
		}), "invalid_request"},
		{"subject token without exp", form(func(v url.Values) {
			v.Set("subject_token", subject(func(c map[string]any) { delete(c, "exp") }))
		}), "invalid_request"},
		{"subject token without sub", form(func(v url.Values) {
			v.Set("subject_token", subject(func(c map[string]any) { delete(c, "sub") }))
		}), "invalid_request"},
		{"alg none", form(func(v url.Values) {
			parts := strings.Split(subject(nil), ".")
			v.Set("subject_token", "eyJhbGciOiJub25lIn0."+parts[1]+".")
		}), "invalid_request"},
		{"subject token of an unknown type", form(func(v url.Values) {
			v.Set("subject_token_type", "urn:example:saml")
		}), "invalid_request"},
	}
	for _, tc := range refused {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			status, body, err := srv.Exchange(ctx, tc.form)
			require.NoError(t, err)
			require.Equal(t, http.StatusBadRequest, status)
			require.Equal(t, tc.code, body["error"])
			require.NotContains(t, body, "access_token")
		})
	}

	t.Run("issued token expires with the server's TTL", func(t *testing.T) {
		status, body, err := srv.Exchange(ctx, form(nil))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "%v", body)
		require.Equal(t, "Bearer", body["token_type"])
		require.Equal(t, "urn:ietf:params:oauth:token-type:access_token", body["issued_token_type"])
		require.Equal(t, "email:read", body["scope"])
		require.NotContains(t, body, "refresh_token")
		token := body["access_token"].(string)

		in, err := srv.Introspect(ctx, token)
		require.NoError(t, err)
		require.True(t, in.Active)
		require.Eventually(t, func() bool {
			in, err := srv.Introspect(ctx, token)
			return err == nil && !in.Active
		}, 10*time.Second, 200*time.Millisecond)
	})

	t.Run("revoking an unknown token succeeds (RFC 7009 section 2.2)", func(t *testing.T) {
		require.NoError(t, srv.Revoke(ctx, "not-a-token"))
	})

	t.Run("introspection requires client authentication", func(t *testing.T) {
		anon := *srv
		anon.ClientSecret = "wrong"
		_, err := anon.Introspect(ctx, "whatever")
		require.ErrorContains(t, err, "HTTP 401")
	})
}
