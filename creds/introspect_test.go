package creds

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
)

func TestIntrospection(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	const secret = "s3cret"
	srv := minterServer(t, m, func(r *http.Request) bool {
		_, p, ok := r.BasicAuth()
		return ok && p == secret
	})
	introspect := func(t *testing.T, token, password string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("rs", password)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}

	r := testRequest()
	r.Delegation = []string{"user:alice@example.com"}
	c, err := m.Issue(ctx, r)
	require.NoError(t, err)

	status, out := introspect(t, c.Token(), secret)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, map[string]any{
		"active": true, "sub": "user:alice@example.com", "aud": r.Audience, "scope": "email:send email:read",
		"exp": float64(c.ExpiresAt.Unix()), "iat": float64(c.IssuedAt.Unix()), "jti": c.ID, "iss": defaultIssuer,
		"token_type": "Bearer", "act": map[string]any{"sub": r.Subject},
	}, out)
	// Introspection is not a use: asking twice still says active.
	_, out = introspect(t, c.Token(), secret)
	require.Equal(t, true, out["active"])

	other := newTestMinter(t, clk)
	foreign, err := other.Issue(ctx, testRequest())
	require.NoError(t, err)
	expiring, err := m.Issue(ctx, Request{Subject: "s", Audience: "https://a", TTL: time.Second})
	require.NoError(t, err)
	require.NoError(t, m.Revoke(ctx, c.ID))
	clk.Advance(time.Second)
	for name, tok := range map[string]string{
		"revoked":    c.Token(),
		"expired":    expiring.Token(),
		"other key":  foreign.Token(),
		"garbage":    "not-a-token",
		"alg none":   unsignedToken(t, `{"alg":"none","typ":"at+jwt"}`, c.Token()),
		"HS256 conf": forge(t, jose.HS256, []byte(m.PublicKey()), "at+jwt", goodClaims()),
	} {
		t.Run(name, func(t *testing.T) {
			status, out := introspect(t, tok, secret)
			require.Equal(t, http.StatusOK, status)
			require.Equal(t, map[string]any{"active": false}, out, "nothing but active:false")
		})
	}

	t.Run("unauthorized caller", func(t *testing.T) {
		status, out := introspect(t, c.Token(), "wrong")
		require.Equal(t, http.StatusUnauthorized, status)
		require.Equal(t, "invalid_client", out["error"])
	})
}

func TestIntrospectionNilAuthorizeRefusesAll(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	c, err := m.Issue(context.Background(), testRequest())
	require.NoError(t, err)
	srv := minterServer(t, m, nil)
	resp, err := srv.Client().PostForm(srv.URL+"/introspect", url.Values{"token": {c.Token()}})
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestIntrospectionBadRequests(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	srv := minterServer(t, m, func(*http.Request) bool { return true })
	tests := []struct {
		name, method, ctype, body string
		want                      int
	}{
		{"GET", http.MethodGet, "", "", http.StatusMethodNotAllowed},
		{"JSON body", http.MethodPost, "application/json", `{"token":"x"}`, http.StatusBadRequest},
		{"no token", http.MethodPost, "application/x-www-form-urlencoded", "hint=x", http.StatusBadRequest},
		{"two tokens", http.MethodPost, "application/x-www-form-urlencoded", "token=a&token=b", http.StatusBadRequest},
		{"huge", http.MethodPost, "application/x-www-form-urlencoded", "token=" + strings.Repeat("a", maxIntrospectionBody), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+"/introspect", strings.NewReader(tt.body))
			require.NoError(t, err)
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tt.want, resp.StatusCode)
		})
	}
}
