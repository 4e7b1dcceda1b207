package creds

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
)

// AssertionSource gives the proof the agent presents to an authorization
// server: a JWT-SVID, or an assertion signed with a key the server trusts.
// audience is the authorization server (its token endpoint, by default). The
// result is a secret and must not be logged.
type AssertionSource interface {
	Assertion(ctx context.Context, audience string) (string, error)
}

// JWTSVIDAssertions presents JWT-SVIDs fetched from src (for example a
// workloadapi.JWTSource) with the authorization server as their single
// audience. SPIRE decides their lifetime.
func JWTSVIDAssertions(src jwtsvid.Source) AssertionSource {
	return svidAssertions{src: src}
}

type svidAssertions struct{ src jwtsvid.Source }

func (s svidAssertions) Assertion(ctx context.Context, audience string) (string, error) {
	if s.src == nil {
		return "", errors.New("creds: assertion: no JWT-SVID source")
	}
	if audience == "" {
		return "", errors.New("creds: assertion: audience is required")
	}
	svid, err := s.src.FetchJWTSVID(ctx, jwtsvid.Params{Audience: audience})
	if err != nil {
		return "", fmt.Errorf("creds: assertion: fetch JWT-SVID: %w", err)
	}
	if svid == nil || svid.Marshal() == "" {
		return "", errors.New("creds: assertion: JWT-SVID source returned no token")
	}
	return svid.Marshal(), nil
}

const (
	defaultAssertionTTL = time.Minute
	// maxAssertionTTL: an assertion is presented once, right after it is
	// made; one that lives longer is only a longer window for replay.
	maxAssertionTTL = 5 * time.Minute
)

// AssertionOption configures SignedAssertions. The interface is sealed.
type AssertionOption interface{ applyAssertion(*assertionConfig) }

type assertionConfig struct {
	ttl time.Duration
	now func() time.Time
}

// WithAssertionTTL sets the lifetime of each assertion (default 1m, at most
// 5m, at least 1s).
func WithAssertionTTL(d time.Duration) AssertionOption {
	return assertionOptionFunc(func(c *assertionConfig) { c.ttl = d })
}

// WithAssertionClock is WithClock.
//
// Deprecated: use WithClock, the clock option of every component.
func WithAssertionClock(now func() time.Time) AssertionOption { return WithClock(now) }

// SignedAssertions returns an AssertionSource that signs a fresh RFC 7523
// assertion for every call: iss, sub, aud (the one audience asked for), iat,
// exp (short) and a random jti, with kid = keyID in the header. It is for
// servers, such as Ory Hydra, that trust an issuer's public key rather than a
// SPIFFE bundle.
//
// The algorithm follows the key: ES256 (P-256), ES384 (P-384), RS256 (RSA of
// 2048 bits or more) or EdDSA (Ed25519). key may be any crypto.Signer (an
// HSM or KMS key included); it is used only through Sign.
func SignedAssertions(key crypto.Signer, keyID, issuer, subject string, opts ...AssertionOption) (AssertionSource, error) {
	cfg := assertionConfig{ttl: defaultAssertionTTL, now: time.Now}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("creds: assertion: option %d is nil", i)
		}
		o.applyAssertion(&cfg)
	}
	switch {
	case key == nil:
		return nil, errors.New("creds: assertion: signing key is required")
	case issuer == "" || !utf8.ValidString(issuer):
		return nil, errors.New("creds: assertion: issuer must be non-empty UTF-8")
	case subject == "" || !utf8.ValidString(subject):
		return nil, errors.New("creds: assertion: subject must be non-empty UTF-8")
	case !utf8.ValidString(keyID):
		return nil, errors.New("creds: assertion: key id is not valid UTF-8")
	case cfg.ttl < time.Second || cfg.ttl > maxAssertionTTL:
		return nil, fmt.Errorf("creds: assertion: TTL %s outside [1s, %s]", cfg.ttl, maxAssertionTTL)
	case cfg.now == nil:
		return nil, errors.New("creds: assertion: clock must not be nil")
	}
	alg, err := assertionAlg(key.Public())
	if err != nil {
		return nil, err
	}
	so := (&jose.SignerOptions{}).WithType("JWT")
	if keyID != "" {
		so = so.WithHeader(jose.HeaderKey("kid"), keyID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: cryptosigner.Opaque(key)}, so)
	if err != nil {
		return nil, fmt.Errorf("creds: assertion: signer: %w", err)
	}
	return &signedAssertions{signer: signer, issuer: issuer, subject: subject, ttl: cfg.ttl.Truncate(time.Second), now: cfg.now}, nil
}

// assertionAlg picks the one algorithm a key can sign with, refusing keys too
// weak to be trusted.
func assertionAlg(pub crypto.PublicKey) (jose.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		}
		return "", fmt.Errorf("creds: assertion: unsupported ECDSA curve %s", k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("creds: assertion: RSA key of %d bits is below 2048", k.N.BitLen())
		}
		return jose.RS256, nil
	case ed25519.PublicKey:
		return jose.EdDSA, nil
	}
	return "", fmt.Errorf("creds: assertion: unsupported key type %T", pub)
}

type signedAssertions struct {
	signer          jose.Signer
	issuer, subject string
	ttl             time.Duration
	now             func() time.Time
}

func (s *signedAssertions) Assertion(ctx context.Context, audience string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("creds: assertion: %w", err)
	}
	if audience == "" || !utf8.ValidString(audience) {
		return "", errors.New("creds: assertion: audience must be non-empty UTF-8")
	}
	// A fresh jti each time: servers (Hydra among them) refuse an assertion
	// whose jti they have seen, which is what stops a captured one from being
	// replayed.
	id := newTokenID()
	iat := time.Unix(s.now().Unix(), 0)
	tok, err := jwt.Signed(s.signer).Claims(jwt.Claims{
		Issuer:   s.issuer,
		Subject:  s.subject,
		Audience: jwt.Audience{audience},
		IssuedAt: jwt.NewNumericDate(iat),
		Expiry:   jwt.NewNumericDate(iat.Add(s.ttl)),
		ID:       id,
	}).Serialize()
	if err != nil {
		return "", fmt.Errorf("creds: assertion: sign: %w", err)
	}
	return tok, nil
}

// String names the assertion source without its key.
func (s *signedAssertions) String() string {
	return fmt.Sprintf("creds.SignedAssertions{iss=%s sub=%s ttl=%s}", s.issuer, s.subject, s.ttl)
}

// Format keeps every fmt verb on String, so the signer is never walked.
func (s *signedAssertions) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }
