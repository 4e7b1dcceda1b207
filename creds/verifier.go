package creds

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
)

// maxTokenSize bounds the work an unauthenticated caller can make Verify do;
// minted tokens are a few hundred bytes.
const maxTokenSize = 8 << 10

// acceptedAlgs is the whole allow-list: the algorithm is fixed by the key
// type, so "none", HMAC (key-confusion) and everything else fail at parse.
var acceptedAlgs = []jose.SignatureAlgorithm{jose.EdDSA}

// Verifier checks tokens for a resource server. The zero value rejects every
// token. It is safe for concurrent use.
//
// NewVerifier checks against one key held in memory; NewRemoteVerifier
// against a JWK Set fetched from the issuer. Both run the same checks.
type Verifier struct {
	keys        keySource
	issuer      string
	revocations RevocationChecker
	now         func() time.Time
	leeway      time.Duration
	replay      *replayCache // nil unless WithReplayCheck
	err         error        // set when built from invalid options: Verify fails closed
}

// keySource finds the key a token claims (by its kid header) to be signed
// with. An unknown key is ErrSignature.
type keySource interface {
	verificationKey(ctx context.Context, kid string) (ed25519.PublicKey, error)
}

// staticKey is a single configured key. The kid header is not consulted:
// there is nothing to choose between, and the signature decides.
type staticKey ed25519.PublicKey

func (k staticKey) verificationKey(context.Context, string) (ed25519.PublicKey, error) {
	return ed25519.PublicKey(k), nil
}

// NewVerifier returns a Verifier that accepts only tokens signed by key,
// issued by issuer, and not revoked according to revocations (use
// NoRevocationCheck to opt out explicitly).
func NewVerifier(key ed25519.PublicKey, issuer string, revocations RevocationChecker, opts ...VerifierOption) (*Verifier, error) {
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("creds: verifier: public key has %d bytes, want %d", len(key), ed25519.PublicKeySize)
	}
	return newVerifier(staticKey(append(ed25519.PublicKey(nil), key...)), issuer, revocations, opts)
}

// newVerifier validates the configuration shared by local and remote
// verifiers, so both refuse the same mistakes.
func newVerifier(keys keySource, issuer string, revocations RevocationChecker, opts []VerifierOption) (*Verifier, error) {
	cfg := verifierConfig{now: time.Now, replayCapacity: defaultReplayCapacity}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("creds: verifier: option %d is nil", i)
		}
		o.applyVerifier(&cfg)
	}
	switch {
	case issuer == "":
		return nil, errors.New("creds: verifier: issuer must not be empty")
	case revocations == nil:
		return nil, errors.New("creds: verifier: nil RevocationChecker (use NoRevocationCheck to opt out)")
	case cfg.now == nil:
		return nil, errors.New("creds: verifier: clock must not be nil")
	case cfg.leeway < 0 || cfg.leeway > maxLeeway:
		return nil, fmt.Errorf("creds: verifier: leeway %s outside [0, %s]", cfg.leeway, maxLeeway)
	case cfg.replay && cfg.replayCapacity < 1:
		return nil, fmt.Errorf("creds: verifier: replay capacity %d must be positive", cfg.replayCapacity)
	}
	v := &Verifier{
		keys:        keys,
		issuer:      issuer,
		revocations: revocations,
		now:         cfg.now,
		leeway:      cfg.leeway,
	}
	if cfg.replay {
		v.replay = newReplayCache(cfg.replayCapacity)
	}
	return v, nil
}

// Verify checks token for audience and returns its claims. Checks run from
// cheapest and least trusting to the revocation lookup, which may be remote:
// size and syntax, algorithm, signature, typ, required claims, issuer,
// audience (exactly one, equal to audience), validity window, revocation,
// and last (so a token refused for another reason is not used up) replay, if
// WithReplayCheck was given. Errors wrap the package sentinels and never
// include the token.
func (v *Verifier) Verify(ctx context.Context, token, audience string) (*Claims, error) {
	// An unusable verifier says so first (verify checks), whatever the audience.
	if audience == "" && v.usable() == nil {
		return nil, fmt.Errorf("creds: verify: no expected audience given: %w", ErrAudience)
	}
	return v.verify(ctx, token, audience)
}

// usable reports why v cannot verify anything, if it cannot.
func (v *Verifier) usable() error {
	switch {
	case v != nil && v.err != nil:
		return fmt.Errorf("creds: verify: unusable verifier: %w", v.err)
	case v == nil || v.keys == nil:
		return errors.New("creds: verify: verifier not configured")
	}
	return nil
}

// verify is Verify without the audience requirement: audience "" accepts any
// single audience, which only introspection (that answers for every
// audience) may ask for. It checks usable itself, for introspection.
func (v *Verifier) verify(ctx context.Context, token, audience string) (*Claims, error) {
	if err := v.usable(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("creds: verify: %w", err)
	}
	wc, err := v.parse(ctx, token)
	if err != nil {
		return nil, err
	}
	c, err := checkShape(wc)
	if err != nil {
		return nil, err
	}
	if c.Issuer != v.issuer {
		return nil, fmt.Errorf("creds: verify: want issuer %q: %w", v.issuer, ErrIssuer)
	}
	if audience != "" && c.Audience != audience {
		return nil, fmt.Errorf("creds: verify: want audience %q: %w", audience, ErrAudience)
	}
	if err := v.checkTime(c, wc); err != nil {
		return nil, err
	}
	revoked, err := v.revocations.Revoked(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("creds: verify: revocation check failed: %w", err)
	}
	if revoked {
		return nil, fmt.Errorf("creds: verify: id %s: %w", c.ID, ErrRevoked)
	}
	if v.replay != nil {
		if err := v.useOnce(v.replay, c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// useOnce records c's id in r until no verifier with v's leeway could
// accept its token any more; it fails if the id was used already.
func (v *Verifier) useOnce(r *replayCache, c *Claims) error {
	return r.use(c.ID, c.ExpiresAt.Add(v.leeway), v.now())
}

// Close stops the background JWKS refresh of a verifier made by
// NewRemoteVerifier. It is a no-op for other verifiers and idempotent.
func (v *Verifier) Close() error {
	if v == nil {
		return nil
	}
	if rk, ok := v.keys.(*remoteKeys); ok {
		rk.close()
	}
	return nil
}

// parse verifies the JWS and decodes its payload. Nothing in the payload is
// looked at before the signature checks out.
func (v *Verifier) parse(ctx context.Context, token string) (*wireClaims, error) {
	if token == "" || len(token) > maxTokenSize {
		return nil, fmt.Errorf("creds: verify: token length %d: %w", len(token), ErrMalformed)
	}
	jws, err := jose.ParseSignedCompact(token, acceptedAlgs)
	if err != nil {
		var algErr *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &algErr) {
			return nil, fmt.Errorf("creds: verify: algorithm not EdDSA: %w", ErrSignature)
		}
		return nil, fmt.Errorf("creds: verify: %w: %w", ErrMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("creds: verify: want one signature: %w", ErrMalformed)
	}
	key, err := v.keys.verificationKey(ctx, jws.Signatures[0].Header.KeyID)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("creds: verify: %w", ErrSignature)
	}
	if typ, _ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType].(string); !isTokenType(typ) {
		return nil, fmt.Errorf("creds: verify: typ header is not %s: %w", tokenType, ErrMalformed)
	}
	var wc wireClaims
	if err := josejson.Unmarshal(payload, &wc); err != nil {
		return nil, fmt.Errorf("creds: verify: claims: %w: %w", ErrMalformed, err)
	}
	return &wc, nil
}

// isTokenType accepts "at+jwt" and its full media type, case-insensitively
// (RFC 7515 section 4.1.9).
func isTokenType(typ string) bool {
	typ = strings.ToLower(typ)
	return typ == tokenType || typ == "application/"+tokenType
}

// checkShape requires every claim the minter always sets, so a token missing
// one is malformed rather than silently unbounded (no exp) or unrevocable
// (no jti).
func checkShape(wc *wireClaims) (*Claims, error) {
	switch {
	case wc.ID == "":
		return nil, fmt.Errorf("creds: verify: missing jti: %w", ErrMalformed)
	case wc.Subject == "":
		return nil, fmt.Errorf("creds: verify: missing sub: %w", ErrMalformed)
	case wc.Issuer == "":
		return nil, fmt.Errorf("creds: verify: missing iss: %w", ErrMalformed)
	case wc.Expiry == nil || wc.IssuedAt == nil:
		return nil, fmt.Errorf("creds: verify: missing exp or iat: %w", ErrMalformed)
	case len(wc.Audience) != 1:
		return nil, fmt.Errorf("creds: verify: %d audiences, want exactly one: %w", len(wc.Audience), ErrAudience)
	}
	actors, ok := wc.Act.flatten()
	if !ok {
		return nil, fmt.Errorf("creds: verify: act claim without sub or deeper than %d: %w", maxDelegation, ErrMalformed)
	}
	iat, exp := wc.IssuedAt.Time().UTC(), wc.Expiry.Time().UTC()
	if !exp.After(iat) {
		return nil, fmt.Errorf("creds: verify: exp not after iat: %w", ErrMalformed)
	}
	return &Claims{
		ID: wc.ID, Issuer: wc.Issuer, Subject: wc.Subject, Audience: wc.Audience[0],
		Scopes: strings.Fields(wc.Scope), CallID: wc.CallID, Actors: actors,
		IssuedAt: iat, ExpiresAt: exp,
	}, nil
}

// checkTime treats exp as exclusive (valid while now < exp + leeway) and
// refuses iat/nbf in the future beyond leeway.
func (v *Verifier) checkTime(c *Claims, wc *wireClaims) error {
	now := v.now()
	if !now.Before(c.ExpiresAt.Add(v.leeway)) {
		return fmt.Errorf("creds: verify: expired at %s: %w", c.ExpiresAt.Format(time.RFC3339), ErrExpired)
	}
	if c.IssuedAt.After(now.Add(v.leeway)) {
		return fmt.Errorf("creds: verify: issued in the future: %w", ErrNotYetValid)
	}
	if wc.NotBefore != nil && wc.NotBefore.Time().After(now.Add(v.leeway)) {
		return fmt.Errorf("creds: verify: not before %s: %w", wc.NotBefore.Time().UTC().Format(time.RFC3339), ErrNotYetValid)
	}
	return nil
}
