package toolguard

import (
	"context"
	"sync"
	"time"

	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/internal/loop"
)

// revoker revokes credentials and does not give up on the first failure: a
// revocation that fails is queued and retried in the background with
// backoff. Every failure is counted, and so is how each ends: recovered by
// a retry, lost (never succeeded), or overtaken by the credential's expiry;
// none is dropped silently.
type revoker struct {
	issuer  creds.Issuer
	timeout time.Duration
	stats   *counters
	// now is the guard's clock: when a retry is due is judged on the same
	// clock as the credential's expiry, so neither runs ahead of the other.
	now func() time.Time

	mu      sync.Mutex
	pending []pendingRevoke
	wake    chan struct{}
}

type pendingRevoke struct {
	id       string
	expires  time.Time // no point retrying after the credential died anyway
	attempts int
	next     time.Time
}

const (
	maxRevokeAttempts = 6
	maxPendingRevokes = 4096
	// revokeSweep is how often the queue is looked at; whether an entry is
	// due is judged on the guard's clock.
	revokeSweep = 500 * time.Millisecond
)

// revokeBackoff is the wait before a retry: step 0 after the first attempt,
// then step n after the n-th (attempts 2..5: 4s, 8s, 16s, 32s).
var revokeBackoff = loop.Backoff{Base: time.Second}

func newRevoker(issuer creds.Issuer, timeout time.Duration, stats *counters, now func() time.Time) *revoker {
	return &revoker{issuer: issuer, timeout: timeout, stats: stats, now: now, wake: make(chan struct{}, 1)}
}

// revoke tries once now; on failure the id is queued for retry. It reports
// whether the first attempt succeeded.
func (r *revoker) revoke(ctx context.Context, c *creds.Credential) error {
	err := r.attempt(ctx, c.ID)
	if err == nil {
		return nil
	}
	r.stats.revokeFailures.Add(1)
	r.mu.Lock()
	if len(r.pending) >= maxPendingRevokes {
		r.mu.Unlock()
		r.stats.revokeLost.Add(1)
		return err
	}
	r.pending = append(r.pending, pendingRevoke{id: c.ID, expires: c.ExpiresAt, attempts: 1, next: r.now().Add(revokeBackoff.Delay(0))})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return err
}

func (r *revoker) attempt(ctx context.Context, id string) error {
	// The caller's context may be done already; revocation must still happen.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
	defer cancel()
	return r.issuer.Revoke(rctx, id)
}

// run retries queued revocations until ctx ends: every revokeSweep on
// timers (nil: real time), and at once when revoke queues one.
func (r *revoker) run(ctx context.Context, wg *sync.WaitGroup, timers loop.Timers) {
	defer wg.Done()
	loop.Loop{Timers: timers, Wake: r.wake}.Every(ctx, revokeSweep, func(ctx context.Context) {
		r.retryDue(ctx, r.now(), false)
	})
}

// retryDue retries what is due (everything, when final) and keeps the rest.
func (r *revoker) retryDue(ctx context.Context, t time.Time, final bool) {
	r.mu.Lock()
	queue := r.pending
	r.pending = nil
	r.mu.Unlock()
	var keep []pendingRevoke
	for _, p := range queue {
		switch {
		case !final && t.Before(p.next):
			keep = append(keep, p)
			continue
		case !t.Before(p.expires):
			// Expired: no token to abuse any more, so nothing is lost.
			r.stats.revokeExpired.Add(1)
			continue
		}
		r.stats.revokeRetries.Add(1)
		if err := r.attempt(ctx, p.id); err == nil {
			r.stats.revokeRecovered.Add(1)
			continue
		}
		p.attempts++
		if p.attempts >= maxRevokeAttempts || final {
			r.stats.revokeLost.Add(1)
			continue
		}
		p.next = r.now().Add(revokeBackoff.Delay(p.attempts))
		keep = append(keep, p)
	}
	r.mu.Lock()
	r.pending = append(r.pending, keep...)
	r.mu.Unlock()
}

func (r *revoker) pendingCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}
