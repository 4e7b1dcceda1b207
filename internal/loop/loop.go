// Package loop is the background loop of every ztagent package: one
// goroutine that runs a function on an interval, or after a delay each run
// chooses (a retry, a backoff), until its context ends. identity renews
// JWT-SVIDs, rotates the dev CA's SVIDs and re-opens the Workload API
// stream with it; creds polls JWK Sets and revocation lists; authz polls
// policy directories and bundles; toolguard retries revocations and renews
// task credentials.
//
// A loop waits on Timers: real time unless a test passes a fake (see
// internal/fakeclock), so when a loop runs is tested without waiting. A
// loop never reads the time: each package judges expiry and due times on
// its own injected clock (its WithClock), and a loop only decides when that
// package looks again. That is why a test clock that stands still delays
// work that is due by it, and never starts work early.
//
// Nothing here starts a goroutine: the caller runs Every or Run with go and
// ends it by canceling ctx. The ticker is stopped before they return, so
// nothing outlives the loop.
package loop

import (
	"context"
	"time"
)

// Timers makes the tickers loops wait on.
type Timers interface {
	// NewTicker returns a ticker that delivers a tick every d (d > 0),
	// dropping ticks for a slow receiver as time.Ticker does.
	NewTicker(d time.Duration) Ticker
}

// Ticker is the part of *time.Ticker a loop uses.
type Ticker interface {
	C() <-chan time.Time
	// Reset makes the next tick due d from now; a tick not yet received
	// is discarded (time.Ticker's behaviour since Go 1.23).
	Reset(d time.Duration)
	Stop()
}

// Real is Timers on the system's clock.
var Real Timers = realTimers{}

type realTimers struct{}

func (realTimers) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time   { return r.t.C }
func (r realTicker) Reset(d time.Duration) { r.t.Reset(d) }
func (r realTicker) Stop()                 { r.t.Stop() }

// Loop says what a loop waits on. The zero Loop waits on real time only.
type Loop struct {
	// Timers is where ticks come from; nil is Real.
	Timers Timers
	// Wake, when not nil, runs the function at once on every receive
	// (work was queued that should not wait for the next tick).
	Wake <-chan struct{}
}

// Every runs f each time period passes, at a fixed rate like time.Ticker: a
// run that overruns the period drops the ticks it missed rather than
// queueing them. It returns when ctx ends; f is never started after that.
// period must be positive.
func (l Loop) Every(ctx context.Context, period time.Duration, f func(context.Context)) {
	t := l.timers().NewTicker(period)
	defer t.Stop()
	for l.wait(ctx, t) {
		f(ctx)
	}
}

// Stop, returned by Run's function, ends the loop.
const Stop time.Duration = -1

// Run runs f once first has passed (at once when first is 0), then again
// each time the delay f returned has passed, counted from when it
// returned, until ctx ends or f returns Stop. A delay of 0 runs f again at
// once. f is never started once ctx has ended.
func (l Loop) Run(ctx context.Context, first time.Duration, f func(context.Context) time.Duration) {
	var t Ticker
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for next := first; next >= 0; next = f(ctx) {
		if next > 0 {
			if t == nil {
				t = l.timers().NewTicker(next)
			} else {
				t.Reset(next)
			}
			if !l.wait(ctx, t) {
				return
			}
		} else if ctx.Err() != nil {
			return
		}
	}
}

// wait blocks until a tick or a wake-up, and reports false instead when
// ctx ends first (or as well: a loop being stopped starts no more work).
func (l Loop) wait(ctx context.Context, t Ticker) bool {
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
	case <-l.Wake: // nil: blocks forever
	}
	return ctx.Err() == nil
}

func (l Loop) timers() Timers {
	if l.Timers == nil {
		return Real
	}
	return l.Timers
}
