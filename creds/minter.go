package creds

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// tokenType is the JOSE "typ" of every minted token (RFC 9068 access token).
// Verifiers require it, so a JWT minted for another purpose with the same key
// cannot be replayed as a credential.
const tokenType = "at+jwt"

// Minter is the in-process Issuer: it signs EdDSA JWTs and remembers their ids
// for revocation. It is safe for concurrent use and runs no goroutines.
type Minter struct {
	issuer     string
	maxTTL     time.Duration
	defaultTTL time.Duration
	now        func() time.Time
	pub        ed25519.PublicKey
	keyID      string
	signer     *compactSigner // holds the private key; never printed (see Format)
	ledger     *ledger
}

var (
	_ Issuer            = (*Minter)(nil)
	_ RevocationChecker = (*Minter)(nil)
)

// NewMinter returns a Minter configured by opts; invalid options are errors.
func NewMinter(opts ...MinterOption) (*Minter, error) {
	cfg := minterConfig{issuer: defaultIssuer, maxTTL: defaultMaxTTL, defaultTTL: defaultDefaultTTL, now: time.Now}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("creds: minter: option %d is nil", i)
		}
		o.applyMinter(&cfg)
	}
	if cfg.issuer == "" {
		return nil, errors.New("creds: minter: issuer must not be empty")
	}
	if cfg.maxTTL < time.Second {
		return nil, fmt.Errorf("creds: minter: max TTL %s is below one second", cfg.maxTTL)
	}
	if cfg.defaultTTL <= 0 {
		return nil, fmt.Errorf("creds: minter: default TTL %s must be positive", cfg.defaultTTL)
	}
	cfg.defaultTTL = min(cfg.defaultTTL, cfg.maxTTL)
	if cfg.now == nil {
		return nil, errors.New("creds: minter: clock must not be nil")
	}
	if !cfg.keySet {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("creds: minter: generate key: %w", err)
		}
		cfg.key = k
	}
	if len(cfg.key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("creds: minter: signing key has %d bytes, want %d", len(cfg.key), ed25519.PrivateKeySize)
	}
	pub := cfg.key.Public().(ed25519.PublicKey)

	// kid is the RFC 7638 thumbprint so a JWKS published later names the key
	// the same way without extra configuration.
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("creds: minter: key thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	return &Minter{
		issuer:     cfg.issuer,
		maxTTL:     cfg.maxTTL,
		defaultTTL: cfg.defaultTTL,
		now:        cfg.now,
		pub:        pub,
		keyID:      kid,
		signer:     newCompactSigner(cfg.key, kid, tokenType),
		ledger:     newLedger(),
	}, nil
}

// Issue mints a credential for r. An invalid request is an error and leaves
// no trace in the minter.
func (m *Minter) Issue(ctx context.Context, r Request) (*Credential, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("creds: issue: %w", err)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	id := newTokenID()
	ttl := m.ttlFor(r.TTL)
	// JWT NumericDates are whole seconds; truncating here keeps the
	// Credential's times identical to the token's.
	iat := time.Unix(m.now().Unix(), 0).UTC()
	exp := iat.Add(ttl)
	scopes := append([]string(nil), r.Scopes...)
	sub, actors := r.principal(), actorsFor(r.Subject, r.Delegation)

	claims := wireClaims{
		Claims: jwt.Claims{
			Issuer:   m.issuer,
			Subject:  sub,
			Audience: jwt.Audience{r.Audience},
			IssuedAt: jwt.NewNumericDate(iat),
			Expiry:   jwt.NewNumericDate(exp),
			ID:       id,
		},
		Scope:  strings.Join(scopes, " "),
		CallID: r.CallID,
		Act:    actChain(actors),
	}
	token := m.signer.sign(claims.appendJSON(make([]byte, 0, 512)))
	// Record only once signing succeeded, so failures leave nothing behind.
	if !m.ledger.add(id, exp.Add(maxLeeway), m.now()) {
		return nil, errors.New("creds: issue: token id collision")
	}
	return &Credential{
		ID: id, Audience: r.Audience, Scopes: scopes, Subject: sub, Actors: actors,
		IssuedAt: iat, ExpiresAt: exp, token: &token,
	}, nil
}

// ttlFor applies the default, the cap and whole-second granularity. It rounds
// down (a credential never lives longer than asked) but never below 1s.
func (m *Minter) ttlFor(d time.Duration) time.Duration {
	if d <= 0 {
		d = m.defaultTTL
	}
	d = min(d, m.maxTTL).Truncate(time.Second)
	return max(d, time.Second)
}

// Revoke revokes the credential with this id. Revoking twice is fine; an
// empty or unknown id is an error (ErrUnknownID), because a revocation that
// silently did nothing would hide a bug in the caller.
func (m *Minter) Revoke(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("creds: revoke: %w", err)
	}
	if id == "" {
		return fmt.Errorf("creds: revoke: empty id: %w", ErrUnknownID)
	}
	if !m.ledger.revoke(id, m.now()) {
		return fmt.Errorf("creds: revoke: %w", ErrUnknownID)
	}
	return nil
}

// Revoked reports whether id was revoked. Ids the minter does not know are
// not revoked (their tokens are past expiry or were never ours, and the
// Verifier rejects those on other grounds). It implements RevocationChecker.
func (m *Minter) Revoked(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("creds: revocation check: %w", err)
	}
	if id == "" {
		return false, errors.New("creds: revocation check: empty id")
	}
	return m.ledger.isRevoked(id), nil
}

// PublicKey returns the key resource servers verify with.
func (m *Minter) PublicKey() ed25519.PublicKey {
	return append(ed25519.PublicKey(nil), m.pub...)
}

// KeyID returns the "kid" header of minted tokens: the base64url RFC 7638
// SHA-256 thumbprint of the public key.
func (m *Minter) KeyID() string { return m.keyID }

// Issuer returns the "iss" claim of minted tokens.
func (m *Minter) Issuer() string { return m.issuer }

// Verifier returns a Verifier for this minter's key, issuer and revocations,
// using the minter's clock unless opts override it. Because it cannot return
// an error, invalid opts produce a Verifier that rejects every token.
func (m *Minter) Verifier(opts ...VerifierOption) *Verifier {
	all := append([]VerifierOption{WithClock(m.now)}, opts...)
	v, err := NewVerifier(m.pub, m.issuer, m, all...)
	if err != nil {
		return &Verifier{err: err}
	}
	return v
}

// String identifies the minter without its key material.
func (m *Minter) String() string {
	return fmt.Sprintf("creds.Minter{iss=%s kid=%s}", m.issuer, m.keyID)
}

// Format keeps every fmt verb (including %#v and %+v, which would otherwise
// walk the struct) on String, so the private key cannot be printed.
func (m *Minter) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(m.String())) }

// newTokenID returns 128 random bits, base64url without padding.
func newTokenID() string {
	var b [16]byte
	// Since Go 1.24 crypto/rand.Read never returns an error: it fills b or
	// crashes the program.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
