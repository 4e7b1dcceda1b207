package identity

import (
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/ztagent/ztagent/internal/loop"
)

// WorkloadOption configures [FromWorkloadAPI]. It is sealed.
type WorkloadOption interface {
	applyWorkload(*workloadConfig)
}

type workloadOptionFunc func(*workloadConfig)

func (f workloadOptionFunc) applyWorkload(c *workloadConfig) { f(c) }

type workloadConfig struct {
	addr        string
	trustDomain string
	now         func() time.Time
	retryMax    time.Duration
	jwtRefresh  time.Duration // how often cached JWT-SVIDs are checked for refresh
	timers      loop.Timers   // what the background loops wait on; nil: real time (tests set a fake)
}

func defaultWorkloadConfig() workloadConfig {
	addr, _ := workloadapi.GetDefaultAddress()
	return workloadConfig{addr: addr, now: time.Now, retryMax: 5 * time.Second, jwtRefresh: time.Second}
}

// WithAddr sets the Workload API address, such as
// "unix:///run/spire/agent.sock". Default: $SPIFFE_ENDPOINT_SOCKET.
func WithAddr(addr string) WorkloadOption {
	return workloadOptionFunc(func(c *workloadConfig) { c.addr = addr })
}

// WithRetryMax bounds the wait between reconnection attempts when the agent
// is unreachable (default 5s), so calls recover soon after the agent returns.
func WithRetryMax(d time.Duration) WorkloadOption {
	return workloadOptionFunc(func(c *workloadConfig) { c.retryMax = d })
}

func (c *workloadConfig) validate() (spiffeid.TrustDomain, error) {
	if c.addr == "" {
		return spiffeid.TrustDomain{}, fmt.Errorf("identity: no Workload API address: set %s or use WithAddr", workloadapi.SocketEnv)
	}
	if err := workloadapi.ValidateAddress(c.addr); err != nil {
		return spiffeid.TrustDomain{}, fmt.Errorf("identity: Workload API address %q: %w", c.addr, err)
	}
	if c.now == nil {
		return spiffeid.TrustDomain{}, errors.New("identity: nil clock")
	}
	if c.retryMax <= 0 {
		return spiffeid.TrustDomain{}, errors.New("identity: retry bound must be positive")
	}
	if c.trustDomain == "" {
		return spiffeid.TrustDomain{}, nil
	}
	return parseTrustDomain(c.trustDomain)
}
