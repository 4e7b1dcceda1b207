package creds

import (
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Claims are the verified contents of a token, returned by Verifier.Verify.
type Claims struct {
	ID, Issuer, Subject, Audience string
	Scopes                        []string
	CallID                        string
	IssuedAt, ExpiresAt           time.Time
}

// wireClaims is the JWT payload. Registered claims come from go-jose so their
// encodings (NumericDate, string-or-array aud) match the rest of the JOSE
// world; scope follows RFC 8693 (one space-separated string).
type wireClaims struct {
	jwt.Claims
	Scope  string `json:"scope,omitempty"`
	CallID string `json:"ztagent_call,omitempty"`
}
