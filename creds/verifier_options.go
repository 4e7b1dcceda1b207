package creds

import "time"

// maxLeeway bounds clock-skew tolerance. The Minter keeps revocations for
// this long past expiry, so no verifier can outlive a revocation.
const maxLeeway = 30 * time.Second

// VerifierOption configures NewVerifier (and Minter.Verifier). Sealed.
type VerifierOption interface{ applyVerifier(*verifierConfig) }

type verifierConfig struct {
	now            func() time.Time
	leeway         time.Duration
	replay         bool
	replayCapacity int
}

// WithVerifierClock is WithClock.
//
// Deprecated: use WithClock, the clock option of every component.
func WithVerifierClock(now func() time.Time) VerifierOption { return WithClock(now) }

// WithLeeway tolerates clock skew between issuer and verifier. Default 0;
// at most 30s, since credentials live for seconds to minutes.
func WithLeeway(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.leeway = d })
}

// WithReplayCheck makes Verify accept each jti once: a token seen before is
// refused with ErrReplayed. Ids are remembered until their token's expiry plus
// leeway, at most WithReplayCapacity of them (default 100,000); when that many
// live ids are held, Verify fails closed rather than forget one early.
//
// Give it to a verifier that guards a single resource server (or a single
// process of one); replicas each remember only what they saw.
func WithReplayCheck() VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.replay = true })
}

// WithReplayCapacity bounds the ids WithReplayCheck remembers; it must be
// positive.
func WithReplayCapacity(n int) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.replayCapacity = n })
}
