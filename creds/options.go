package creds

import "time"

// Each constructor has its own sealed option interface, whose one method is
// named after it and takes its own config: an option of one constructor does
// not compile as an option of another, yet one value, WithClock, can be an
// option of every constructor that keeps time. (A single method name, apply,
// would allow no such value: a type has one method of each name.)

// Option is an option of every constructor in the package that reads the
// time: NewMinter, NewVerifier and Minter.Verifier, NewRemoteVerifier,
// RemoteRevocations, SignedAssertions, NewSVIDIssuer and NewExchangeIssuer.
// WithClock is the one.
type Option interface {
	MinterOption
	VerifierOption
	RemoteOption
	AssertionOption
	SVIDIssuerOption
	ExchangeOption
}

// WithClock sets the time source (default time.Now) of whichever component
// it is given to: what a minter stamps into iat and exp and how long it
// keeps revocations; a verifier's exp, iat and nbf checks and its replay
// window; how stale a remote revocation list is and how soon a JWK Set may
// be fetched again for an unknown key id; the iat and exp of signed
// assertions; the lifetime checks of JWT-SVIDs and exchanged tokens. nil
// is an error from the constructor. Background polls (WithRefreshInterval)
// wake on real time.
func WithClock(now func() time.Time) Option { return clockOption{now} }

type clockOption struct{ now func() time.Time }

func (o clockOption) applyMinter(c *minterConfig)       { c.now = o.now }
func (o clockOption) applyVerifier(c *verifierConfig)   { c.now = o.now }
func (o clockOption) applyRemote(c *remoteConfig)       { c.now = o.now }
func (o clockOption) applyAssertion(c *assertionConfig) { c.now = o.now }
func (o clockOption) applySVIDIssuer(c *svidConfig)     { c.now = o.now }
func (o clockOption) applyExchange(c *exchangeOptions)  { c.now, c.nowSet = o.now, true }

// The adapters behind each constructor's other options.
type (
	minterOptionFunc     func(*minterConfig)
	verifierOptionFunc   func(*verifierConfig)
	remoteOptionFunc     func(*remoteConfig)
	assertionOptionFunc  func(*assertionConfig)
	svidOptionFunc       func(*svidConfig)
	middlewareOptionFunc func(*middlewareConfig)
	transportOptionFunc  func(*transportConfig)
)

func (f minterOptionFunc) applyMinter(c *minterConfig)             { f(c) }
func (f verifierOptionFunc) applyVerifier(c *verifierConfig)       { f(c) }
func (f remoteOptionFunc) applyRemote(c *remoteConfig)             { f(c) }
func (f assertionOptionFunc) applyAssertion(c *assertionConfig)    { f(c) }
func (f svidOptionFunc) applySVIDIssuer(c *svidConfig)             { f(c) }
func (f middlewareOptionFunc) applyMiddleware(c *middlewareConfig) { f(c) }
func (f transportOptionFunc) applyTransport(c *transportConfig)    { f(c) }
