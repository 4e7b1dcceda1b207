package identity

import (
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/ztagent/ztagent/internal/loop"
)

const (
	defaultTrustDomain  = "ztagent.dev"
	defaultWorkloadPath = "/agent/default"
	defaultSVIDTTL      = 5 * time.Minute

	// MinSVIDTTL and MaxSVIDTTL bound [WithSVIDTTL]. Below 10s rotation at half
	// the TTL would churn keys for no benefit; above a day the SVID stops being
	// short-lived.
	MinSVIDTTL = 10 * time.Second
	MaxSVIDTTL = 24 * time.Hour
)

// DevOption configures [NewDevSource]. It is sealed: only this package's
// With... functions implement it.
type DevOption interface {
	applyDev(*devConfig)
}

type devOptionFunc func(*devConfig)

func (f devOptionFunc) applyDev(c *devConfig) { f(c) }

// Option configures both [NewDevSource] and [FromWorkloadAPI]. It can,
// because each constructor's sealed interface has a method of its own name
// (applyDev, applyWorkload), as in package creds.
type Option interface {
	DevOption
	WorkloadOption
}

type sharedOption struct {
	dev func(*devConfig)
	wl  func(*workloadConfig)
}

func (o sharedOption) applyDev(c *devConfig)           { o.dev(c) }
func (o sharedOption) applyWorkload(c *workloadConfig) { o.wl(c) }

// WithTrustDomain sets the trust domain name, such as "example.org" (not a
// spiffe:// URI). For [NewDevSource] it is where the SVIDs are minted
// (default "ztagent.dev"). For [FromWorkloadAPI] it is the only trust domain
// whose SVIDs are accepted: an SVID from any other is refused and never
// cached (default: whatever the agent serves, verified against its bundle).
func WithTrustDomain(td string) Option {
	return sharedOption{
		dev: func(c *devConfig) { c.trustDomain = td },
		wl:  func(c *workloadConfig) { c.trustDomain = td },
	}
}

// WithClock sets the clock used for validity periods and expiry checks, so
// expiry is testable without waiting. Background timers (rotation, refresh)
// still run on real time. Default time.Now; nil is an error.
func WithClock(now func() time.Time) Option {
	return sharedOption{
		dev: func(c *devConfig) { c.now = now },
		wl:  func(c *workloadConfig) { c.now = now },
	}
}

// devConfig is what the options write; NewDevSource validates it as a whole,
// so options never fail on their own and their order does not matter.
type devConfig struct {
	trustDomain  string
	workloadPath string
	ttl          time.Duration
	now          func() time.Time

	// rotateEvery is the real-time rotation period; zero means ttl/2. Only
	// tests in this package set it, to exercise the background loop quickly.
	rotateEvery time.Duration
	// timers is what the rotation loop waits on; nil: real time. Only tests
	// in this package set it.
	timers loop.Timers
}

func defaultDevConfig() devConfig {
	return devConfig{
		trustDomain:  defaultTrustDomain,
		workloadPath: defaultWorkloadPath,
		ttl:          defaultSVIDTTL,
		now:          time.Now,
	}
}

// WithWorkloadPath sets the path of the agent's SPIFFE ID, such as
// "/agent/support". It must be a valid, non-empty SPIFFE path: an SVID for
// the bare trust domain ID is not allowed. Default "/agent/default".
func WithWorkloadPath(path string) DevOption {
	return devOptionFunc(func(c *devConfig) { c.workloadPath = path })
}

// WithSVIDTTL sets the lifetime of each X.509-SVID and JWT-SVID. It must be
// between [MinSVIDTTL] and [MaxSVIDTTL]. Default 5 minutes.
func WithSVIDTTL(d time.Duration) DevOption {
	return devOptionFunc(func(c *devConfig) { c.ttl = d })
}

// validate checks the configuration and returns the workload's SPIFFE ID.
func (c *devConfig) validate() (spiffeid.ID, error) {
	td, err := parseTrustDomain(c.trustDomain)
	if err != nil {
		return spiffeid.ID{}, err
	}
	if c.workloadPath == "" {
		return spiffeid.ID{}, errors.New("identity: empty workload path: an SVID needs a path below the trust domain")
	}
	id, err := spiffeid.FromPath(td, c.workloadPath)
	if err != nil {
		return spiffeid.ID{}, fmt.Errorf("identity: invalid workload path %q: %w", c.workloadPath, err)
	}
	if c.ttl < MinSVIDTTL || c.ttl > MaxSVIDTTL {
		return spiffeid.ID{}, fmt.Errorf("identity: svid ttl %v out of range [%v, %v]", c.ttl, MinSVIDTTL, MaxSVIDTTL)
	}
	if c.now == nil {
		return spiffeid.ID{}, errors.New("identity: nil clock")
	}
	if c.rotateEvery < 0 {
		return spiffeid.ID{}, errors.New("identity: negative rotation period")
	}
	return id, nil
}

// parseTrustDomain accepts only a bare trust domain name.
func parseTrustDomain(name string) (spiffeid.TrustDomain, error) {
	td, err := spiffeid.TrustDomainFromString(name)
	if err != nil {
		return spiffeid.TrustDomain{}, fmt.Errorf("identity: invalid trust domain %q: %w", name, err)
	}
	// TrustDomainFromString also accepts a full SPIFFE ID and silently drops
	// its path; insist on the bare name so a typo cannot change the identity.
	if td.Name() != name {
		return spiffeid.TrustDomain{}, fmt.Errorf("identity: invalid trust domain %q: want a bare name such as %q", name, td.Name())
	}
	return td, nil
}
