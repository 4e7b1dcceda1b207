package creds

import (
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/ztagent/ztagent/internal/jsonenc"
)

// Claims are the verified contents of a token, returned by Verifier.Verify.
//
// With delegation (RFC 8693 section 4.1) Subject is the original principal
// the call is made for and Actors names who is acting: the current actor (the
// agent that holds the token) first, then the actors it acts for, inward.
type Claims struct {
	ID, Issuer, Subject, Audience string
	Scopes                        []string
	CallID                        string
	Actors                        []string
	IssuedAt, ExpiresAt           time.Time
}

// Agent is the principal presenting the token: the current actor when the
// token is delegated, else the subject.
func (c *Claims) Agent() string {
	if c == nil {
		return ""
	}
	if len(c.Actors) > 0 {
		return c.Actors[0]
	}
	return c.Subject
}

// wireClaims is the JWT payload. Registered claims come from go-jose so their
// encodings (NumericDate, string-or-array aud) match the rest of the JOSE
// world; scope follows RFC 8693 (one space-separated string).
type wireClaims struct {
	jwt.Claims
	Scope  string    `json:"scope,omitempty"`
	CallID string    `json:"ztagent_call,omitempty"`
	Act    *actClaim `json:"act,omitempty"`
}

// actClaim is RFC 8693's act: the acting party, nested outward-in. Other
// members an issuer may add (iss, …) are ignored; only sub identifies.
type actClaim struct {
	Subject string    `json:"sub"`
	Act     *actClaim `json:"act,omitempty"`
}

// actChain nests actors (current actor first, as Credential.Actors lists
// them) into RFC 8693's act claim: the current actor outermost. The
// original principal is the token's sub, so it is not among them.
func actChain(actors []string) *actClaim {
	var act *actClaim
	for i := len(actors) - 1; i >= 0; i-- {
		act = &actClaim{Subject: actors[i], Act: act}
	}
	return act
}

// actorsFor lists the actors current first: subject, then the delegation
// chain from its innermost entry back to (not including) the principal.
func actorsFor(subject string, delegation []string) []string {
	if len(delegation) == 0 {
		return nil
	}
	actors := make([]string, 0, len(delegation))
	actors = append(actors, subject)
	for i := len(delegation) - 1; i >= 1; i-- {
		actors = append(actors, delegation[i])
	}
	return actors
}

// flatten lists the act chain current actor first; ok is false for a chain
// deeper than maxDelegation or with an actor lacking sub.
func (a *actClaim) flatten() (actors []string, ok bool) {
	for ; a != nil; a = a.Act {
		if a.Subject == "" || len(actors) == maxDelegation {
			return nil, false
		}
		actors = append(actors, a.Subject)
	}
	return actors, true
}

// appendJSON appends the JSON encoding of the claims, the document
// encoding/json writes for them (same members, same values, empty ones
// omitted; a single audience as a string, as go-jose writes it), without
// reflection: it runs for every credential minted. Tested against
// encoding/json.
func (c *wireClaims) appendJSON(b []byte) []byte {
	b = append(b, '{')
	first := true
	member := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jsonenc.AppendString(b, name)
		b = append(b, ':')
	}
	str := func(name, v string) {
		if v != "" {
			member(name)
			b = jsonenc.AppendString(b, v)
		}
	}
	date := func(name string, d *jwt.NumericDate) {
		if d != nil {
			member(name)
			b = strconv.AppendInt(b, int64(*d), 10)
		}
	}
	str("iss", c.Issuer)
	str("sub", c.Subject)
	switch len(c.Audience) {
	case 0:
	case 1: // a single audience is a string, as go-jose writes it
		str("aud", c.Audience[0])
	default:
		member("aud")
		for i, a := range c.Audience {
			if i == 0 {
				b = append(b, '[')
			} else {
				b = append(b, ',')
			}
			b = jsonenc.AppendString(b, a)
		}
		b = append(b, ']')
	}
	date("exp", c.Expiry)
	date("nbf", c.NotBefore)
	date("iat", c.IssuedAt)
	str("jti", c.ID)
	str("scope", c.Scope)
	str("ztagent_call", c.CallID)
	if c.Act != nil {
		member("act")
		for a := c.Act; a != nil; a = a.Act {
			b = append(b, `{"sub":`...)
			b = jsonenc.AppendString(b, a.Subject)
			if a.Act != nil {
				b = append(b, `,"act":`...)
			}
		}
		for a := c.Act; a != nil; a = a.Act {
			b = append(b, '}')
		}
	}
	return append(b, '}')
}
