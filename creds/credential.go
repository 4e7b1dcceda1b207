package creds

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// Credential is an issued bearer token plus the metadata that is safe to log.
//
// The token is a secret. Every way of printing a Credential — String,
// GoString, fmt verbs (%v, %+v, %#v, %s, %q, …), encoding/json and log/slog —
// shows the id, subject, audience, scopes and times, never the token.
// Token is the only accessor.
type Credential struct {
	ID       string // "jti"
	Audience string
	Scopes   []string
	// Subject is the token's sub: the agent, or with delegation the original
	// principal (Request.Delegation[0]); Actors then names who acts, current
	// actor (the agent) first, as Claims.Actors does.
	Subject   string
	Actors    []string
	IssuedAt  time.Time
	ExpiresAt time.Time

	// token is a *string, not a string or a struct: where fmt cannot call
	// our methods (a Credential in an unexported field, or a bad verb such
	// as %s on such a struct) it falls back to reflection, and reflection
	// prints a pointer to a string as an address, never as its contents.
	token *string
}

// Token returns the bearer token to send to the audience. Do not log it.
func (c *Credential) Token() string {
	if c == nil || c.token == nil {
		return ""
	}
	return *c.token
}

// TTL is the lifetime the credential was issued with (ExpiresAt - IssuedAt).
func (c *Credential) TTL() time.Duration {
	if c == nil {
		return 0
	}
	return c.ExpiresAt.Sub(c.IssuedAt)
}

// String describes the credential without its token. Value receivers on the
// printing methods matter: fmt on a Credential value would otherwise fall back
// to reflection.
func (c Credential) String() string {
	act := ""
	if len(c.Actors) > 0 {
		act = fmt.Sprintf(" act=%v", c.Actors)
	}
	return fmt.Sprintf("creds.Credential{id=%s sub=%s%s aud=%s scopes=%v expires=%s}",
		c.ID, c.Subject, act, c.Audience, c.Scopes, c.ExpiresAt.UTC().Format(time.RFC3339))
}

// GoString is used by %#v; it too omits the token.
func (c Credential) GoString() string {
	return fmt.Sprintf("creds.Credential{ID:%q, Subject:%q, Audience:%q, Scopes:%#v, IssuedAt:%q, ExpiresAt:%q}",
		c.ID, c.Subject, c.Audience, c.Scopes,
		c.IssuedAt.UTC().Format(time.RFC3339), c.ExpiresAt.UTC().Format(time.RFC3339))
}

// Format takes over every fmt verb so that none (%x, %d, %+v, …) reaches the
// default struct printer.
func (c Credential) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = f.Write([]byte(c.GoString()))
	case verb == 'q':
		_, _ = f.Write([]byte(strconv.Quote(c.String())))
	default:
		_, _ = f.Write([]byte(c.String()))
	}
}

// credentialJSON is the public, token-free shape of a Credential.
type credentialJSON struct {
	ID        string    `json:"id"`
	Subject   string    `json:"subject"`
	Actors    []string  `json:"actors,omitempty"`
	Audience  string    `json:"audience"`
	Scopes    []string  `json:"scopes"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// MarshalJSON encodes the metadata only; the token is never serialized.
func (c Credential) MarshalJSON() ([]byte, error) {
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return json.Marshal(credentialJSON{
		ID: c.ID, Subject: c.Subject, Actors: c.Actors, Audience: c.Audience, Scopes: scopes,
		IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt,
	})
}

// LogValue makes log/slog record the metadata only.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", c.ID),
		slog.String("subject", c.Subject),
		slog.Any("actors", c.Actors),
		slog.String("audience", c.Audience),
		slog.Any("scopes", c.Scopes),
		slog.Time("expires_at", c.ExpiresAt),
	)
}
