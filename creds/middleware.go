package creds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// MiddlewareOption configures Middleware. Sealed.
type MiddlewareOption interface{ applyMiddleware(*middlewareConfig) }

type middlewareConfig struct {
	allowReuse bool
	realm      string
}

// AllowReuse lets a token be presented more than once within its lifetime
// (per-task credentials the guard reuses across calls). Without it the
// middleware refuses a jti it has already accepted. A Verifier built with
// WithReplayCheck refuses reuse whatever this option says.
func AllowReuse() MiddlewareOption {
	return middlewareOptionFunc(func(c *middlewareConfig) { c.allowReuse = true })
}

// WithRealm sets the realm in WWW-Authenticate (default: the audience).
func WithRealm(realm string) MiddlewareOption {
	return middlewareOptionFunc(func(c *middlewareConfig) { c.realm = realm })
}

// claimsKey carries verified claims; unexported so only Middleware sets it.
type claimsKey struct{}

// ClaimsFromContext returns the claims Middleware verified for this request.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// Middleware protects a resource server: every request must carry
// "Authorization: Bearer <token>" that v accepts for audience — signature,
// issuer, audience, expiry, revocation — and, unless AllowReuse, whose jti
// this middleware has not accepted before (ErrReplayed). The verified Claims
// go into the request context (ClaimsFromContext).
//
// Refusals follow RFC 6750 section 3: no credentials → 401 with a bare
// Bearer challenge; a malformed Authorization header → 400 invalid_request;
// a token refused → 401 invalid_token with a short error_description (never
// the token). A failure that says nothing about the token (the revocation
// list is stale, the replay cache is full, v is unusable) → 503, so clients
// retry rather than discard a good token.
func Middleware(v *Verifier, audience string, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	cfg := middlewareConfig{realm: audience}
	for _, o := range opts {
		if o != nil {
			o.applyMiddleware(&cfg)
		}
	}
	var replay *replayCache
	if !cfg.allowReuse && (v == nil || v.replay == nil) {
		replay = newReplayCache(defaultReplayCapacity)
	}
	realm := quoteParam(cfg.realm)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, status, code := bearerToken(r)
			if status != 0 {
				challenge(w, realm, status, code, code)
				return
			}
			c, err := v.Verify(r.Context(), token, audience)
			if err == nil && replay != nil {
				err = v.useOnce(replay, c)
			}
			if err != nil {
				status, reason := refusal(err)
				challenge(w, realm, status, "invalid_token", reason)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, c)))
		})
	}
}

// bearerToken extracts the token. status 0 means found; otherwise status and
// the RFC 6750 error code ("" when no credentials were sent at all).
func bearerToken(r *http.Request) (token string, status int, code string) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return "", http.StatusUnauthorized, ""
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	switch {
	case len(h) > 1:
		return "", http.StatusBadRequest, "invalid_request"
	case !ok || !strings.EqualFold(scheme, "Bearer"):
		// Another scheme: RFC 6750 treats that as no bearer credentials.
		return "", http.StatusUnauthorized, ""
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", http.StatusBadRequest, "invalid_request"
	}
	return tok, 0, ""
}

// refusal maps a verification error to a status and a fixed description.
// Only these fixed strings reach the client: the detailed error may quote
// claims, and the client does not need them.
func refusal(err error) (int, string) {
	for _, r := range [...]struct {
		err    error
		reason string
	}{
		{ErrExpired, "token expired"},
		{ErrRevoked, "token revoked"},
		{ErrReplayed, "token replayed"},
		{ErrAudience, "token is for another audience"},
		{ErrSignature, "bad signature or algorithm"},
		{ErrIssuer, "token from another issuer"},
		{ErrNotYetValid, "token not yet valid"},
		{ErrMalformed, "malformed token"},
	} {
		if errors.Is(err, r.err) {
			return http.StatusUnauthorized, r.reason
		}
	}
	return http.StatusServiceUnavailable, "token cannot be checked now"
}

func challenge(w http.ResponseWriter, realm string, status int, code, reason string) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
		http.Error(w, reason, status)
		return
	}
	v := "Bearer realm=" + realm
	if code != "" {
		v += fmt.Sprintf(", error=%q, error_description=%q", code, reason)
	}
	w.Header().Set("WWW-Authenticate", v)
	if reason == "" {
		reason = "bearer token required"
	}
	http.Error(w, reason, status)
}

// quoteParam renders an auth-param quoted-string, dropping characters RFC
// 6750 does not allow in it.
func quoteParam(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
