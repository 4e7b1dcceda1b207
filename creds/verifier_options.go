package creds

import "time"

// maxLeeway bounds clock-skew tolerance. The Minter keeps revocations for
// this long past expiry, so no verifier can outlive a revocation.
const maxLeeway = 30 * time.Second

// VerifierOption configures NewVerifier (and Minter.Verifier). Sealed.
type VerifierOption interface{ apply(*verifierConfig) }

type verifierConfig struct {
	now    func() time.Time
	leeway time.Duration
}

type verifierOptionFunc func(*verifierConfig)

func (f verifierOptionFunc) apply(c *verifierConfig) { f(c) }

// WithVerifierClock sets the time source used for exp/iat/nbf checks
// (default time.Now).
func WithVerifierClock(now func() time.Time) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.now = now })
}

// WithLeeway tolerates clock skew between issuer and verifier. Default 0;
// at most 30s, since credentials live for seconds to minutes.
func WithLeeway(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.leeway = d })
}
