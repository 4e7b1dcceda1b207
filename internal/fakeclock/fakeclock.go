// Package fakeclock is a settable clock for tests of expiry and rotation.
// Packages take time as an injected func() time.Time; tests pass Clock.Now.
// A Clock is also the loop.Timers of the packages' background loops, so one
// fake moves both what a package reads as now and when its loops run.
package fakeclock

import (
	"sync"
	"time"

	"github.com/ztagent/ztagent/internal/loop"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*ticker // live: started and not stopped
	armed   int       // tickers started or reset, in all
	ticks   int       // ticks delivered, in all
	changed *sync.Cond
}

var _ loop.Timers = (*Clock)(nil)

// New returns a clock that reads t until it is moved.
func New(t time.Time) *Clock {
	c := &Clock{now: t}
	c.changed = sync.NewCond(&c.mu)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d and fires the tickers that came due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireLocked()
}

// Set moves the clock to t and fires the tickers that came due.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	c.fireLocked()
}

// NewTicker returns a ticker that ticks when the clock is moved past each
// period from now. Like time.Ticker, it holds at most one tick for a slow
// receiver and drops the others.
func (c *Clock) NewTicker(d time.Duration) loop.Ticker {
	if d <= 0 {
		panic("fakeclock: non-positive interval for NewTicker")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &ticker{c: c, ch: make(chan time.Time, 1), period: d, next: c.now.Add(d)}
	c.tickers = append(c.tickers, t)
	c.armedLocked()
	return t
}

// WaitArmed blocks until tickers have been started or reset n times in all:
// a loop that has armed its ticker is waiting on it, so a test that moves
// the clock afterwards knows from when the loop counts.
func (c *Clock) WaitArmed(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.armed < n {
		c.changed.Wait()
	}
}

// Tickers is the number of tickers started and not stopped.
func (c *Clock) Tickers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tickers)
}

// Ticks is the number of ticks delivered so far. A loop cannot have run for
// a tick that was never delivered.
func (c *Clock) Ticks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ticks
}

func (c *Clock) armedLocked() {
	c.armed++
	c.changed.Broadcast()
}

func (c *Clock) fireLocked() {
	for _, t := range c.tickers {
		if c.now.Before(t.next) {
			continue
		}
		select {
		case t.ch <- c.now:
			c.ticks++
		default: // one already waits: dropped, as time.Ticker does
		}
		// The periods skipped over tick once, as a slow receiver's would.
		t.next = t.next.Add((c.now.Sub(t.next)/t.period + 1) * t.period)
	}
}

type ticker struct {
	c      *Clock
	ch     chan time.Time
	period time.Duration
	next   time.Time // guarded by c.mu
}

func (t *ticker) C() <-chan time.Time { return t.ch }

func (t *ticker) Reset(d time.Duration) {
	if d <= 0 {
		panic("fakeclock: non-positive interval for Reset")
	}
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	select {
	case <-t.ch: // a stale tick is discarded, as time.Ticker.Reset does
	default:
	}
	t.period, t.next = d, t.c.now.Add(d)
	if !t.live() {
		t.c.tickers = append(t.c.tickers, t)
	}
	t.c.armedLocked()
}

func (t *ticker) Stop() {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for i, o := range t.c.tickers {
		if o == t {
			t.c.tickers = append(t.c.tickers[:i], t.c.tickers[i+1:]...)
			return
		}
	}
}

// live reports whether t is among its clock's tickers; c.mu is held.
func (t *ticker) live() bool {
	for _, o := range t.c.tickers {
		if o == t {
			return true
		}
	}
	return false
}
