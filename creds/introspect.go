package creds

import (
	"encoding/json"
	"net/http"
	"strings"
)

// maxIntrospectionBody bounds the form a caller may post: one token and a
// hint.
const maxIntrospectionBody = 16 << 10

// introspectionJSON is the RFC 7662 section 2.2 response. Inactive tokens
// carry only "active": false, so the endpoint says nothing about why.
type introspectionJSON struct {
	Active    bool      `json:"active"`
	Subject   string    `json:"sub,omitempty"`
	Audience  string    `json:"aud,omitempty"`
	Scope     string    `json:"scope,omitempty"`
	ExpiresAt int64     `json:"exp,omitempty"`
	IssuedAt  int64     `json:"iat,omitempty"`
	ID        string    `json:"jti,omitempty"`
	Issuer    string    `json:"iss,omitempty"`
	TokenType string    `json:"token_type,omitempty"`
	Act       *actClaim `json:"act,omitempty"`
}

// IntrospectionHandler serves RFC 7662 token introspection for the minter's
// tokens: POST application/x-www-form-urlencoded with token=…. A token that
// is malformed, not the minter's, expired or revoked is {"active": false};
// an active one is described by active, sub, aud, scope, exp, iat, jti, iss
// and act. Introspection does not count as a use, so it never trips replay
// checks.
//
// Introspection tells a caller what a token grants, so callers must be
// authorized: authorize decides for each request (e.g. by mTLS peer or a
// client secret). A nil authorize refuses every caller with 401.
func (m *Minter) IntrospectionHandler(authorize func(*http.Request) bool) http.Handler {
	v := m.Verifier()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if authorize == nil || !authorize(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="introspection"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "invalid_request"})
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxIntrospectionBody)
		if err := r.ParseForm(); err != nil || len(r.PostForm["token"]) != 1 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
			return
		}
		c, err := v.verify(r.Context(), r.PostForm.Get("token"), "")
		if err != nil {
			writeJSON(w, http.StatusOK, introspectionJSON{Active: false})
			return
		}
		writeJSON(w, http.StatusOK, introspectionJSON{
			Active: true, Subject: c.Subject, Audience: c.Audience, Scope: strings.Join(c.Scopes, " "),
			ExpiresAt: c.ExpiresAt.Unix(), IssuedAt: c.IssuedAt.Unix(), ID: c.ID, Issuer: c.Issuer,
			TokenType: "Bearer", Act: actChain(c.Actors),
		})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
