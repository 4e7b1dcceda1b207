package creds

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Request describes the credential the guard wants for one call. The
// authorization decision supplies Audience, Scopes and TTL; identity supplies
// Subject.
type Request struct {
	Subject  string        // SPIFFE ID of the agent (JWT "sub"); required
	Audience string        // exactly one audience (JWT "aud"); required
	Scopes   []string      // JWT "scope" (space-separated string claim, RFC 8693 style)
	TTL      time.Duration // <= 0 → issuer default (60s); clamped to the issuer's max TTL
	CallID   string        // optional; carried as private claim "ztagent_call" for audit correlation

	// Delegation is the chain of principals this call is made for, outermost first, NOT including
	// Subject: e.g. ["user:alice@example.com", "spiffe://example.org/agent/planner"]. Empty: the agent
	// acts for itself.
	Delegation []string
}

// maxDelegation bounds the act nesting a token carries; verifiers refuse
// deeper chains, so a longer one could never be used anyway.
const maxDelegation = 8

// principal is the token's sub: with delegation, the original principal
// (RFC 8693 section 4.1; act says who acts for it), else the agent.
func (r Request) principal() string {
	if len(r.Delegation) > 0 {
		return r.Delegation[0]
	}
	return r.Subject
}

// validate rejects requests that would produce a token whose claims differ
// from what the caller asked for (invalid UTF-8 is silently rewritten by JSON)
// or that a resource server could not interpret (scopes are space-separated).
func (r Request) validate() error {
	if r.Subject == "" {
		return errors.New("creds: request: subject is required")
	}
	if r.Audience == "" {
		return errors.New("creds: request: audience is required")
	}
	for _, f := range [...]struct{ name, v string }{
		{"subject", r.Subject}, {"audience", r.Audience}, {"call id", r.CallID},
	} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("creds: request: %s is not valid UTF-8", f.name)
		}
	}
	if len(r.Delegation) > maxDelegation {
		return fmt.Errorf("creds: request: delegation chain of %d exceeds %d", len(r.Delegation), maxDelegation)
	}
	for i, p := range r.Delegation {
		if p == "" || !utf8.ValidString(p) {
			return fmt.Errorf("creds: request: delegation entry %d is empty or not valid UTF-8", i)
		}
	}
	for i, s := range r.Scopes {
		if !validScope(s) {
			return fmt.Errorf("creds: request: scope %d is not an RFC 6749 scope token", i)
		}
	}
	return nil
}

// validScope implements RFC 6749 section 3.3:
// scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
func validScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
