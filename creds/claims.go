package creds

import (
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
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

// actFor builds the act claim for a request made by subject for the
// delegation chain (outermost first): the current actor is outermost in the
// claim, and the original principal (delegation[0]) is the token's sub, so it
// does not appear in act.
func actFor(subject string, delegation []string) *actClaim {
	if len(delegation) == 0 {
		return nil
	}
	actors := actorsFor(subject, delegation)
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
