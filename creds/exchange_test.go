package creds_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/internal/digest"
	"github.com/ztagent/ztagent/internal/fakeclock"
)

const (
	testClientID     = "agent-client"
	testClientSecret = "s3cret-client-value"
	testAssertion    = "eyJhbGciOiJFUzI1NiJ9.assertion-secret.sig"
	testAudience     = "https://mail.example.com"
	testSubject      = "spiffe://example.org/agent/support"
)

var exchangeT0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// staticAssertions hands out a fixed assertion and records the audiences it
// was asked for.
type staticAssertions struct {
	mu        sync.Mutex
	token     string
	err       error
	audiences []string
}

func (s *staticAssertions) Assertion(_ context.Context, aud string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audiences = append(s.audiences, aud)
	return s.token, s.err
}

// fakeAS is an httptest authorization server whose token and revocation
// answers each test scripts; it records what the client sent.
type fakeAS struct {
	srv *httptest.Server

	mu          sync.Mutex
	tokenForms  []url.Values
	tokenAuth   []string // "basic:<id>:<secret>" or "post:<id>:<secret>"
	revoked     []string
	revokeAuth  []string
	tokenReply  func(w http.ResponseWriter, form url.Values)
	revokeReply func(w http.ResponseWriter) // nil: 200
}

func newFakeAS(t *testing.T) *fakeAS {
	t.Helper()
	as := &fakeAS{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		as.mu.Lock()
		as.tokenForms = append(as.tokenForms, r.PostForm)
		as.tokenAuth = append(as.tokenAuth, clientAuthOf(r))
		reply := as.tokenReply
		as.mu.Unlock()
		reply(w, r.PostForm)
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		as.mu.Lock()
		as.revoked = append(as.revoked, r.PostForm.Get("token"))
		as.revokeAuth = append(as.revokeAuth, clientAuthOf(r))
		reply := as.revokeReply
		as.mu.Unlock()
		if reply != nil {
			reply(w)
		}
	})
	as.srv = httptest.NewServer(mux)
	t.Cleanup(as.srv.Close)
	return as
}

func clientAuthOf(r *http.Request) string {
	if id, secret, ok := r.BasicAuth(); ok {
		return "basic:" + id + ":" + secret
	}
	if id := r.PostForm.Get("client_id"); id != "" {
		return "post:" + id + ":" + r.PostForm.Get("client_secret")
	}
	return "none"
}

func (as *fakeAS) config(grant string, a creds.AssertionSource) creds.ExchangeConfig {
	return creds.ExchangeConfig{
		Grant:         grant,
		TokenURL:      as.srv.URL + "/token",
		RevocationURL: as.srv.URL + "/revoke",
		ClientID:      testClientID,
		ClientSecret:  testClientSecret,
		Assertion:     a,
		HTTPClient:    as.srv.Client(),
	}
}

func (as *fakeAS) setToken(f func(w http.ResponseWriter, form url.Values)) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.tokenReply = f
}

func (as *fakeAS) setRevoke(f func(w http.ResponseWriter)) {
	as.mu.Lock()
	defer as.mu.Unlock()
	as.revokeReply = f
}

func (as *fakeAS) revokedTokens() []string {
	as.mu.Lock()
	defer as.mu.Unlock()
	return append([]string(nil), as.revoked...)
}

func (as *fakeAS) forms() []url.Values {
	as.mu.Lock()
	defer as.mu.Unlock()
	return append([]url.Values(nil), as.tokenForms...)
}

// unsignedJWT builds a token shaped like a JWT access token; the client never
// verifies it, it only reads jti and exp.
func unsignedJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	require.NoError(t, err)
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES256","typ":"at+jwt"}`)) + "." + enc(b) + ".c2ln"
}

func replyJSON(status int, body map[string]any) func(http.ResponseWriter, url.Values) {
	return func(w http.ResponseWriter, _ url.Values) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
}

func exchangeRequest() creds.Request {
	return creds.Request{
		Subject:  testSubject,
		Audience: testAudience,
		Scopes:   []string{"email:read", "email:send"},
	}
}

func TestExchangeJWTBearerIssueAndRevoke(t *testing.T) {
	as := newFakeAS(t)
	clk := fakeclock.New(exchangeT0)
	access := unsignedJWT(t, map[string]any{"jti": "tok-1", "exp": exchangeT0.Add(time.Minute).Unix()})
	as.setToken(replyJSON(http.StatusOK, map[string]any{
		"access_token": access, "token_type": "bearer", "expires_in": 60, "scope": "email:read email:send",
	}))
	src := &staticAssertions{token: testAssertion}
	cfg := as.config(creds.GrantJWTBearer, src)
	cfg.SendAudience = true
	x, err := creds.NewExchangeIssuer(cfg, creds.WithClock(clk.Now))
	require.NoError(t, err)

	c, err := x.Issue(context.Background(), exchangeRequest())
	require.NoError(t, err)
	require.Equal(t, "tok-1", c.ID, "a JWT access token is named by its jti")
	require.Equal(t, access, c.Token())
	require.Equal(t, time.Minute, c.TTL())
	require.Equal(t, exchangeT0, c.IssuedAt)
	require.Equal(t, testAudience, c.Audience)
	require.Equal(t, testSubject, c.Subject)
	require.Equal(t, []string{"email:read", "email:send"}, c.Scopes)

	forms := as.forms()
	require.Len(t, forms, 1)
	require.Equal(t, url.Values{
		"grant_type": {creds.GrantJWTBearer},
		"assertion":  {testAssertion},
		"scope":      {"email:read email:send"},
		"audience":   {testAudience},
	}, forms[0])
	require.Equal(t, []string{"basic:" + testClientID + ":" + testClientSecret}, as.tokenAuth)
	require.Equal(t, []string{cfg.TokenURL}, src.audiences, "the assertion's audience defaults to the token URL")

	require.NoError(t, x.Revoke(context.Background(), c.ID))
	require.Equal(t, []string{access}, as.revokedTokens())
	require.Equal(t, []string{"basic:" + testClientID + ":" + testClientSecret}, as.revokeAuth)
	require.NoError(t, x.Revoke(context.Background(), c.ID), "revoking twice is fine")
	require.Len(t, as.revokedTokens(), 1, "and does not ask the server again")
	require.Equal(t, creds.ExchangeStats{Issued: 1, Revoked: 1}, x.Stats())

	// Forgotten once expired: the id is unknown again.
	clk.Advance(2 * time.Minute)
	require.ErrorIs(t, x.Revoke(context.Background(), c.ID), creds.ErrUnknownID)
}

func TestExchangeTokenExchangeParams(t *testing.T) {
	as := newFakeAS(t)
	as.setToken(replyJSON(http.StatusOK, map[string]any{
		"access_token": "opaque-access-token", "token_type": "Bearer", "expires_in": 30,
		"issued_token_type": creds.TokenTypeAccessToken,
	}))
	cfg := as.config(creds.GrantTokenExchange, &staticAssertions{token: testAssertion})
	cfg.ClientAuth = creds.ClientSecretPost
	cfg.AssertionAudience = "https://sts.example.com"
	x, err := creds.NewExchangeIssuer(cfg)
	require.NoError(t, err)

	r := exchangeRequest()
	r.Scopes = []string{"email:read"}
	c, err := x.Issue(context.Background(), r)
	require.NoError(t, err)
	require.Equal(t, digest.Of([]byte("opaque-access-token")), c.ID, "an opaque token is named by its digest")
	require.Equal(t, 30*time.Second, c.TTL())
	require.Equal(t, []string{"email:read"}, c.Scopes, "no scope in the answer means the requested scope")

	forms := as.forms()
	require.Len(t, forms, 1)
	require.Equal(t, url.Values{
		"grant_type":           {creds.GrantTokenExchange},
		"subject_token":        {testAssertion},
		"subject_token_type":   {creds.TokenTypeJWT},
		"requested_token_type": {creds.TokenTypeAccessToken},
		"audience":             {testAudience},
		"scope":                {"email:read"},
		"client_id":            {testClientID},
		"client_secret":        {testClientSecret},
	}, forms[0])

	require.NoError(t, x.Revoke(context.Background(), c.ID))
	require.Equal(t, []string{"post:" + testClientID + ":" + testClientSecret}, as.revokeAuth)
}

func TestExchangeDelegation(t *testing.T) {
	as := newFakeAS(t)
	as.setToken(replyJSON(http.StatusOK, map[string]any{
		"access_token": "delegated-token", "token_type": "bearer", "expires_in": 60,
	}))
	r := exchangeRequest()
	r.Delegation = []string{"user:alice@example.com"}

	t.Run("refused without a subject token source", func(t *testing.T) {
		for _, grant := range []string{creds.GrantJWTBearer, creds.GrantTokenExchange} {
			x, err := creds.NewExchangeIssuer(as.config(grant, &staticAssertions{token: testAssertion}))
			require.NoError(t, err)
			c, err := x.Issue(context.Background(), r)
			require.ErrorContains(t, err, "delegated request")
			require.Nil(t, c)
		}
		require.Empty(t, as.forms(), "nothing was sent")
	})

	t.Run("token exchange sends the agent as actor", func(t *testing.T) {
		cfg := as.config(creds.GrantTokenExchange, &staticAssertions{token: testAssertion})
		var got creds.Request
		cfg.DelegatedSubjectToken = func(_ context.Context, r creds.Request) (string, string, error) {
			got = r
			return "alice-user-token", creds.TokenTypeAccessToken, nil
		}
		x, err := creds.NewExchangeIssuer(cfg)
		require.NoError(t, err)
		c, err := x.Issue(context.Background(), r)
		require.NoError(t, err)
		require.Equal(t, []string{"user:alice@example.com"}, got.Delegation)
		require.Equal(t, "user:alice@example.com", c.Subject, "sub is the original principal")
		require.Equal(t, []string{testSubject}, c.Actors, "the agent is the actor")
		forms := as.forms()
		require.Len(t, forms, 1)
		f := forms[0]
		require.Equal(t, "alice-user-token", f.Get("subject_token"))
		require.Equal(t, creds.TokenTypeAccessToken, f.Get("subject_token_type"))
		require.Equal(t, testAssertion, f.Get("actor_token"))
		require.Equal(t, creds.TokenTypeJWT, f.Get("actor_token_type"))
		require.NoError(t, x.Revoke(context.Background(), c.ID))
	})
}

func TestExchangeRefusals(t *testing.T) {
	longJWT := func(t *testing.T) string {
		return unsignedJWT(t, map[string]any{"jti": "long", "exp": time.Now().Add(time.Hour).Unix()})
	}
	tests := []struct {
		name      string
		reply     func(t *testing.T) func(http.ResponseWriter, url.Values)
		ttl       time.Duration // Request.TTL
		wantIs    error
		wantText  string
		wantCode  string // ExchangeError.Code; "" for tokens that were issued then refused
		revoked   bool   // an issued token must have been revoked
		wantStats creds.ExchangeStats
	}{
		{
			name: "server refuses the grant",
			reply: func(*testing.T) func(http.ResponseWriter, url.Values) {
				return replyJSON(http.StatusBadRequest, map[string]any{"error": "invalid_grant", "error_description": "assertion \x1b[31mrejected"})
			},
			wantCode: "invalid_grant", wantText: "assertion [31mrejected",
		},
		{
			name: "server error without JSON",
			reply: func(*testing.T) func(http.ResponseWriter, url.Values) {
				return func(w http.ResponseWriter, _ url.Values) {
					http.Error(w, "upstream down "+testAssertion, http.StatusBadGateway)
				}
			},
			wantText: "status 502",
		},
		{
			name: "200 without an access token",
			reply: func(*testing.T) func(http.ResponseWriter, url.Values) {
				return replyJSON(http.StatusOK, map[string]any{"token_type": "bearer", "expires_in": 60})
			},
			wantText: "missing access_token",
		},
		{
			name: "token lives longer than MaxTTL",
			reply: func(*testing.T) func(http.ResponseWriter, url.Values) {
				return replyJSON(http.StatusOK, map[string]any{"access_token": "opaque-long", "token_type": "bearer", "expires_in": 600})
			},
			wantIs: creds.ErrTokenTooLong, revoked: true,
			wantStats: creds.ExchangeStats{Refused: 1, Revoked: 1},
		},
		{
			name: "token lives longer than the request's TTL",
			reply: func(*testing.T) func(http.ResponseWriter, url.Values) {
				return replyJSON(http.StatusOK, map[string]any{"access_token": "opaque-60", "token_type": "bearer", "expires_in": 60})
			},
			ttl:    30 * time.Second,
			wantIs: creds.ErrTokenTooLong, revoked: true,
			wantStats: creds.ExchangeStats{Refused: 1, Revoked: 1},
		},
		{
			name: "expires_in understates a JWT's exp",
			reply: func(t *testing.T) func(http.ResponseWriter, url.Values) {
				return replyJSON(http.StatusOK, map[string]any{"access_token": longJWT(t), "token_type": "bearer", "expires_in": 60})
			},
			wantIs: creds.ErrTokenTooLong, revoked: true,
			wantStats: creds.ExchangeStats{Refused: 1, Revoked: 1},
		},
		{
			name: "opaque token with unknown lifetime",
			reply: func(*testing.T) func(http.ResponseWriter, url.Values) {
				return replyJSON(http.StatusOK, map[string]any{"access_token": "opaque-forever", "token_type": "bearer"})
			},
			wantIs: creds.ErrTokenTooLong, revoked: true,
			wantStats: creds.ExchangeStats{Refused: 1, Revoked: 1},
		},
		{
			name: "scope wider than requested",
			reply: func(*testing.T) func(http.ResponseWriter, url.Values) {
				return replyJSON(http.StatusOK, map[string]any{"access_token": "opaque-wide", "token_type": "bearer", "expires_in": 60, "scope": "email:read email:delete"})
			},
			wantText: `scope "email:delete" that was not requested`, revoked: true,
			wantStats: creds.ExchangeStats{Refused: 1, Revoked: 1},
		},
		{
			name: "not a bearer token",
			reply: func(*testing.T) func(http.ResponseWriter, url.Values) {
				return replyJSON(http.StatusOK, map[string]any{"access_token": "opaque-dpop", "token_type": "DPoP", "expires_in": 60})
			},
			wantText: "not a bearer token", revoked: true,
			wantStats: creds.ExchangeStats{Refused: 1, Revoked: 1},
		},
		{
			name: "not an access token",
			reply: func(*testing.T) func(http.ResponseWriter, url.Values) {
				return replyJSON(http.StatusOK, map[string]any{"access_token": "opaque-rt", "token_type": "bearer", "expires_in": 60, "issued_token_type": "urn:ietf:params:oauth:token-type:refresh_token"})
			},
			wantText: "not an access token", revoked: true,
			wantStats: creds.ExchangeStats{Refused: 1, Revoked: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			as := newFakeAS(t)
			as.setToken(tt.reply(t))
			x, err := creds.NewExchangeIssuer(as.config(creds.GrantJWTBearer, &staticAssertions{token: testAssertion}))
			require.NoError(t, err)
			r := exchangeRequest()
			r.TTL = tt.ttl
			c, err := x.Issue(context.Background(), r)
			require.Error(t, err)
			require.Nil(t, c)
			require.NotContains(t, err.Error(), testAssertion)
			require.NotContains(t, err.Error(), testClientSecret)
			require.NotContains(t, err.Error(), "opaque-", "the issued token is not in the error")
			require.True(t, strings.HasPrefix(err.Error(), "creds: "), err.Error())
			if tt.wantIs != nil {
				require.ErrorIs(t, err, tt.wantIs)
			}
			if tt.wantText != "" {
				require.ErrorContains(t, err, tt.wantText)
			}
			if tt.wantCode != "" {
				var xe *creds.ExchangeError
				require.ErrorAs(t, err, &xe)
				require.Equal(t, tt.wantCode, xe.Code)
				require.Equal(t, http.StatusBadRequest, xe.StatusCode)
				var re *oauth2.RetrieveError
				require.ErrorAs(t, err, &re, "the library's error stays reachable")
			}
			if tt.revoked {
				require.Len(t, as.revokedTokens(), 1, "a refused token is revoked at once")
			} else {
				require.Empty(t, as.revokedTokens())
			}
			require.Equal(t, tt.wantStats, x.Stats())
		})
	}
}

func TestExchangeRefusedTokenRevocationFailureIsReported(t *testing.T) {
	as := newFakeAS(t)
	as.setToken(replyJSON(http.StatusOK, map[string]any{"access_token": "opaque-long", "token_type": "bearer", "expires_in": 3600}))
	as.setRevoke(func(w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
	x, err := creds.NewExchangeIssuer(as.config(creds.GrantJWTBearer, &staticAssertions{token: testAssertion}))
	require.NoError(t, err)
	c, err := x.Issue(context.Background(), exchangeRequest())
	require.Nil(t, c)
	require.ErrorIs(t, err, creds.ErrTokenTooLong)
	require.ErrorContains(t, err, "revoking the refused token failed")
	require.ErrorContains(t, err, "status 503")
	require.Equal(t, creds.ExchangeStats{Refused: 1, RevokeFailures: 1}, x.Stats())
}

func TestExchangeRevokeFailureIsRetriable(t *testing.T) {
	as := newFakeAS(t)
	as.setToken(replyJSON(http.StatusOK, map[string]any{"access_token": "opaque-ok", "token_type": "bearer", "expires_in": 60}))
	x, err := creds.NewExchangeIssuer(as.config(creds.GrantJWTBearer, &staticAssertions{token: testAssertion}))
	require.NoError(t, err)
	c, err := x.Issue(context.Background(), exchangeRequest())
	require.NoError(t, err)

	as.setRevoke(func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
	})
	err = x.Revoke(context.Background(), c.ID)
	require.ErrorContains(t, err, `status 400, error "invalid_client"`)
	require.NotContains(t, err.Error(), "opaque-ok")
	require.Equal(t, uint64(1), x.Stats().RevokeFailures)

	as.setRevoke(nil)
	require.NoError(t, x.Revoke(context.Background(), c.ID), "the token was kept for a retry")
	require.Equal(t, []string{"opaque-ok", "opaque-ok"}, as.revokedTokens())
	require.Equal(t, creds.ExchangeStats{Issued: 1, Revoked: 1, RevokeFailures: 1}, x.Stats())

	require.ErrorIs(t, x.Revoke(context.Background(), "never-issued"), creds.ErrUnknownID)
	require.ErrorIs(t, x.Revoke(context.Background(), ""), creds.ErrUnknownID)
}

func TestExchangeRevokeAfterExpiryNeedsNoRequest(t *testing.T) {
	as := newFakeAS(t)
	as.setToken(replyJSON(http.StatusOK, map[string]any{"access_token": "opaque-ok", "token_type": "bearer", "expires_in": 60}))
	clk := fakeclock.New(exchangeT0)
	cfg := as.config(creds.GrantJWTBearer, &staticAssertions{token: testAssertion})
	x, err := creds.NewExchangeIssuer(cfg, creds.WithClock(clk.Now))
	require.NoError(t, err)
	c, err := x.Issue(context.Background(), exchangeRequest())
	require.NoError(t, err)
	clk.Advance(61 * time.Second)
	require.NoError(t, x.Revoke(context.Background(), c.ID))
	require.Empty(t, as.revokedTokens(), "an expired token needs no revocation")
}

func TestExchangeMaxOutstanding(t *testing.T) {
	as := newFakeAS(t)
	n := 0
	as.setToken(func(w http.ResponseWriter, f url.Values) {
		n++
		replyJSON(http.StatusOK, map[string]any{"access_token": fmt.Sprintf("opaque-%d", n), "token_type": "bearer", "expires_in": 60})(w, f)
	})
	cfg := as.config(creds.GrantJWTBearer, &staticAssertions{token: testAssertion})
	cfg.MaxOutstanding = 1
	x, err := creds.NewExchangeIssuer(cfg)
	require.NoError(t, err)
	_, err = x.Issue(context.Background(), exchangeRequest())
	require.NoError(t, err)
	c, err := x.Issue(context.Background(), exchangeRequest())
	require.ErrorContains(t, err, "outstanding")
	require.Nil(t, c)
	require.Equal(t, []string{"opaque-2"}, as.revokedTokens(), "the token we could not remember was revoked")
}

// Tokens are forgotten at their own expiry plus the largest leeway, whatever
// order they were issued in, and a forgotten token frees its slot.
func TestExchangeForgetsEachTokenAtItsOwnExpiry(t *testing.T) {
	as := newFakeAS(t)
	ttls := []int{60, 10} // the second token expires first
	n := 0
	as.setToken(func(w http.ResponseWriter, f url.Values) {
		replyJSON(http.StatusOK, map[string]any{"access_token": fmt.Sprintf("opaque-%d", n), "token_type": "bearer", "expires_in": ttls[n%2]})(w, f)
		n++
	})
	clk := fakeclock.New(exchangeT0)
	cfg := as.config(creds.GrantJWTBearer, &staticAssertions{token: testAssertion})
	cfg.MaxOutstanding = 2
	x, err := creds.NewExchangeIssuer(cfg, creds.WithClock(clk.Now))
	require.NoError(t, err)
	long, err := x.Issue(context.Background(), exchangeRequest())
	require.NoError(t, err)
	short, err := x.Issue(context.Background(), exchangeRequest())
	require.NoError(t, err)

	// 10s + 30s of leeway: still remembered, so the table is full.
	clk.Advance(39 * time.Second)
	_, err = x.Issue(context.Background(), exchangeRequest())
	require.ErrorContains(t, err, "outstanding")
	require.NoError(t, x.Revoke(context.Background(), short.ID), "expired but remembered: nothing to do")

	clk.Advance(time.Second)
	_, err = x.Issue(context.Background(), exchangeRequest())
	require.NoError(t, err, "the short-lived token was forgotten, freeing its slot")
	require.ErrorIs(t, x.Revoke(context.Background(), short.ID), creds.ErrUnknownID)
	require.NoError(t, x.Revoke(context.Background(), long.ID))
	require.Equal(t, []string{"opaque-2", "opaque-0"}, as.revokedTokens(), "the refused token, then the long-lived one")
}

func TestExchangeAssertionFailure(t *testing.T) {
	as := newFakeAS(t)
	for _, src := range []*staticAssertions{{err: errors.New("workload API down")}, {token: ""}} {
		x, err := creds.NewExchangeIssuer(as.config(creds.GrantJWTBearer, src))
		require.NoError(t, err)
		c, err := x.Issue(context.Background(), exchangeRequest())
		require.ErrorContains(t, err, "creds: exchange: assertion")
		require.Nil(t, c)
	}
	require.Empty(t, as.forms())
}

func TestExchangeCanceledContext(t *testing.T) {
	as := newFakeAS(t)
	x, err := creds.NewExchangeIssuer(as.config(creds.GrantJWTBearer, &staticAssertions{token: testAssertion}))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = x.Issue(ctx, exchangeRequest())
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, x.Revoke(ctx, "x"), context.Canceled)
	require.Empty(t, as.forms())
}

func TestExchangeDoesNotFollowRedirects(t *testing.T) {
	elsewhere := newFakeAS(t)
	as := newFakeAS(t)
	as.setToken(func(w http.ResponseWriter, _ url.Values) {
		w.Header().Set("Location", elsewhere.srv.URL+"/token")
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	cfg := as.config(creds.GrantJWTBearer, &staticAssertions{token: testAssertion})
	cfg.HTTPClient = nil // the default client
	x, err := creds.NewExchangeIssuer(cfg)
	require.NoError(t, err)
	_, err = x.Issue(context.Background(), exchangeRequest())
	require.ErrorContains(t, err, "status 307")
	require.Empty(t, elsewhere.forms(), "the assertion did not follow the redirect")
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
}

func TestExchangeConfigValidation(t *testing.T) {
	valid := func() creds.ExchangeConfig {
		return creds.ExchangeConfig{
			Grant: creds.GrantJWTBearer, TokenURL: "https://as.example.com/token",
			RevocationURL: "https://as.example.com/revoke", ClientID: "c",
			Assertion: &staticAssertions{token: "a"},
		}
	}
	tests := []struct {
		name   string
		modify func(*creds.ExchangeConfig)
		want   string
	}{
		{"valid", func(*creds.ExchangeConfig) {}, ""},
		{"loopback http", func(c *creds.ExchangeConfig) { c.TokenURL = "http://127.0.0.1:4444/oauth2/token" }, ""},
		{"no grant", func(c *creds.ExchangeConfig) { c.Grant = "" }, "grant is required"},
		{"client credentials grant", func(c *creds.ExchangeConfig) { c.Grant = "client_credentials" }, "unsupported grant"},
		{"no token URL", func(c *creds.ExchangeConfig) { c.TokenURL = "" }, "token URL is required"},
		{"plain http", func(c *creds.ExchangeConfig) { c.TokenURL = "http://as.example.com/token" }, "must be https"},
		{"relative", func(c *creds.ExchangeConfig) { c.TokenURL = "/token" }, "absolute URL"},
		{"userinfo", func(c *creds.ExchangeConfig) { c.TokenURL = "https://u:p@as.example.com/token" }, "without userinfo"},
		{"no revocation URL", func(c *creds.ExchangeConfig) { c.RevocationURL = "" }, "revocation URL is required"},
		{"no client id", func(c *creds.ExchangeConfig) { c.ClientID = "" }, "client id is required"},
		{"unknown client auth", func(c *creds.ExchangeConfig) { c.ClientAuth = 7 }, "unknown client auth"},
		{"no assertion", func(c *creds.ExchangeConfig) { c.Assertion = nil }, "assertion source is required"},
		{"max TTL below a second", func(c *creds.ExchangeConfig) { c.MaxTTL = time.Millisecond }, "below one second"},
		{"negative max outstanding", func(c *creds.ExchangeConfig) { c.MaxOutstanding = -1 }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.modify(&cfg)
			x, err := creds.NewExchangeIssuer(cfg)
			if tt.want == "" {
				require.NoError(t, err)
				require.NotNil(t, x)
				return
			}
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, x)
		})
	}
}

// WithClock is the exchange issuer's clock, as every component's: it stamps
// the credential, and wins over the deprecated ExchangeConfig.Now, which
// still works alone. WithClock(nil), or a nil option, is an error.
func TestExchangeIssuerClock(t *testing.T) {
	as := newFakeAS(t)
	as.setToken(replyJSON(http.StatusOK, map[string]any{"access_token": "opaque-ok", "token_type": "bearer", "expires_in": 60}))
	option, field := fakeclock.New(exchangeT0), fakeclock.New(exchangeT0.Add(time.Hour))
	cfg := as.config(creds.GrantJWTBearer, &staticAssertions{token: testAssertion})
	cfg.Now = field.Now
	for name, tc := range map[string]struct {
		opts []creds.ExchangeOption
		want time.Time
	}{
		"the option wins": {[]creds.ExchangeOption{creds.WithClock(option.Now)}, exchangeT0},
		"the field alone": {nil, exchangeT0.Add(time.Hour)},
	} {
		t.Run(name, func(t *testing.T) {
			x, err := creds.NewExchangeIssuer(cfg, tc.opts...)
			require.NoError(t, err)
			c, err := x.Issue(context.Background(), exchangeRequest())
			require.NoError(t, err)
			require.Equal(t, tc.want, c.IssuedAt)
		})
	}
	_, err := creds.NewExchangeIssuer(cfg, creds.WithClock(nil))
	require.ErrorContains(t, err, "clock must not be nil")
	_, err = creds.NewExchangeIssuer(cfg, nil)
	require.ErrorContains(t, err, "option 0 is nil")
}

func TestExchangeIssuerNeverPrintsSecrets(t *testing.T) {
	as := newFakeAS(t)
	as.setToken(replyJSON(http.StatusOK, map[string]any{"access_token": "opaque-secret-token", "token_type": "bearer", "expires_in": 60}))
	x, err := creds.NewExchangeIssuer(as.config(creds.GrantJWTBearer, &staticAssertions{token: testAssertion}))
	require.NoError(t, err)
	_, err = x.Issue(context.Background(), exchangeRequest())
	require.NoError(t, err)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("issuer", "x", x)
	for _, s := range []string{fmt.Sprint(x), fmt.Sprintf("%+v", x), fmt.Sprintf("%#v", x), logged.String()} {
		require.NotContains(t, s, testClientSecret)
		require.NotContains(t, s, "opaque-secret-token")
		require.Contains(t, s, "creds.ExchangeIssuer")
	}
}
