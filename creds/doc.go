// Package creds issues and verifies the short-lived, scoped, revocable
// credentials that ztagent hands to a tool for exactly one call (or one task).
//
// An agent that holds a long-lived API key can do anything the key allows, for
// as long as the key lives, whoever talked the model into it. creds replaces
// that key with a bearer token that names one agent (sub), one destination
// (aud), the scopes the policy decided on (scope), and a lifetime measured in
// seconds; the guard revokes it as soon as the call returns.
//
// # Issuing
//
// [Minter] is the in-process issuer used by the embedded default. It signs
// EdDSA (Ed25519) JWTs with go-jose and records every token id (jti) so it can
// be revoked:
//
//	m, err := creds.NewMinter()                       // fresh key, 60s default TTL, 5m max
//	c, err := m.Issue(ctx, creds.Request{
//		Subject:  "spiffe://example.org/agent/support",
//		Audience: "https://mail.example.com",
//		Scopes:   []string{"email:send"},
//	})
//	ctx = creds.NewContext(ctx, c)                    // the tool reads it with FromContext
//	defer m.Revoke(ctx, c.ID)
//
// The guard depends only on the [Issuer] interface, so a deployment can swap
// the Minter for an STS or JWT-SVIDs without touching tool code.
//
// # Verifying
//
// A resource server checks a token with a [Verifier]: signature (EdDSA only —
// "none", HMAC and every other algorithm are refused before any key is used),
// issuer, exactly one audience, expiry, issued-at, and revocation. Every
// failure wraps one of the sentinel errors ([ErrMalformed], [ErrSignature],
// [ErrIssuer], [ErrAudience], [ErrExpired], [ErrNotYetValid], [ErrRevoked]),
// so callers use errors.Is; a revocation checker that fails makes Verify fail
// too.
//
// # Safe defaults
//
//   - Lifetimes are short: 60s by default, never more than the minter's
//     maximum (5m by default), and whole seconds because JWT times are.
//   - The token string is a secret: [Credential] prints, marshals and logs
//     (fmt, encoding/json, log/slog) as its id, audience and expiry only, and
//     no error message contains a token. [Credential.Token] is the one way to
//     read it.
//   - Nil or zero configuration denies: a zero [Verifier] rejects everything
//     and [NewVerifier] needs a revocation checker (ask for
//     [NoRevocationCheck] by name to opt out).
//   - Time is injectable (WithClock, WithVerifierClock) so expiry is tested
//     without sleeping.
package creds
