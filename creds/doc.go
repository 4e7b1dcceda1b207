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
// EdDSA (Ed25519) JWTs (a compact JWS it writes itself: the header is fixed
// and encoded once, so a token costs one signature and little else; go-jose
// verifies them like any other) and records every token id (jti) so it can
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
// The guard depends only on the [Issuer] interface, so a deployment chooses
// its issuer by configuration without touching tool code:
//
//   - [Minter], in process. It also serves, as http.Handlers, its JWKS
//     ([Minter.JWKSHandler]), its revocation list
//     ([Minter.RevocationListHandler]) and RFC 7662 introspection
//     ([Minter.IntrospectionHandler]), so a resource server in another
//     process verifies with [NewRemoteVerifier] and [RemoteRevocations].
//   - [SVIDIssuer]: JWT-SVIDs from the SPIFFE Workload API with the
//     destination as the single audience — SPIFFE's own short-lived
//     credential, for SPIFFE-native resource servers. JWT-SVIDs carry no
//     scopes and cannot be revoked at the source; see the type.
//   - [ExchangeIssuer]: an OAuth 2.0 authorization server exchanges the
//     agent's JWT-SVID (or a signed assertion, [SignedAssertions]) for an
//     access token for the decided audience and scopes — RFC 7523 jwt-bearer
//     (tested against Ory Hydra) or RFC 8693 token exchange (tested against a
//     server built on zitadel/oidc, since Hydra does not offer it) — and
//     revokes it through RFC 7009. The protocol work is golang.org/x/oauth2's.
//
// # Delegation
//
// When the agent acts for a user or another agent ([Request.Delegation]),
// the token follows RFC 8693: sub is the original principal and the nested
// act claim names the actors, current actor outermost. [Claims.Actors] and
// [Claims.Agent] expose the chain to the resource server.
//
// # Binding tokens to their destination
//
// [Transport] attaches the call's credential (from the request context) only
// to requests whose https origin is the credential's audience; any other
// request goes out without it, or is refused with [RefuseUnbound]. A token is
// never sent to a host it was not minted for, redirects included.
//
// # Resource servers
//
// [Middleware] checks signature, audience, expiry, revocation and replay (a
// jti seen twice is refused) and puts the verified [Claims] in the request
// context ([ClaimsFromContext]); failures answer 401 with an RFC 6750
// WWW-Authenticate error and never echo the token. examples/toolbackend is
// a runnable tool backend protected by it.
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
//   - Time is injectable so expiry is tested without sleeping: [WithClock]
//     is the clock option of every component (the per-component
//     WithVerifierClock, WithRemoteClock, WithAssertionClock, WithSVIDClock
//     and ExchangeConfig.Now are deprecated forwards to it).
package creds
