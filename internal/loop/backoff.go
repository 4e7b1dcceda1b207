package loop

import (
	"math"
	"time"
)

// Backoff is an exponential schedule: Base, doubled at every step, at most
// Max (no bound when Max is 0).
type Backoff struct {
	Base, Max time.Duration
}

// Delay is the wait at step n (n >= 0): Base·2^n, capped at Max. It never
// overflows: past the largest time.Duration it stays there (or at Max).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for i := 0; i < n && d > 0; i++ {
		if d > math.MaxInt64/2 {
			d = math.MaxInt64
			break
		}
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		return b.Max
	}
	return d
}
