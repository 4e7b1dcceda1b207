package creds

import (
	"crypto/ed25519"
	"time"
)

const (
	defaultIssuer     = "urn:ztagent:minter"
	defaultMaxTTL     = 5 * time.Minute
	defaultDefaultTTL = 60 * time.Second
)

// MinterOption configures NewMinter. The interface is sealed: options come
// only from this package.
type MinterOption interface{ applyMinter(*minterConfig) }

type minterConfig struct {
	issuer     string
	maxTTL     time.Duration
	defaultTTL time.Duration
	key        ed25519.PrivateKey
	keySet     bool
	now        func() time.Time
}

// WithIssuer sets the "iss" claim. Default "urn:ztagent:minter"; must not be
// empty.
func WithIssuer(iss string) MinterOption {
	return minterOptionFunc(func(c *minterConfig) { c.issuer = iss })
}

// WithMaxTTL caps every credential's lifetime. Default 5m. It must be at
// least one second, because JWT times have one-second granularity.
func WithMaxTTL(d time.Duration) MinterOption {
	return minterOptionFunc(func(c *minterConfig) { c.maxTTL = d })
}

// WithDefaultTTL is the lifetime used when a Request has TTL <= 0. Default
// 60s; it must be positive and is clamped to the max TTL.
func WithDefaultTTL(d time.Duration) MinterOption {
	return minterOptionFunc(func(c *minterConfig) { c.defaultTTL = d })
}

// WithSigningKey signs with k instead of a fresh random key, e.g. so that
// resource servers can be configured with the public key ahead of time. The
// key is copied.
func WithSigningKey(k ed25519.PrivateKey) MinterOption {
	return minterOptionFunc(func(c *minterConfig) {
		c.key, c.keySet = append(ed25519.PrivateKey(nil), k...), true
	})
}
