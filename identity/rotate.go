package identity

import (
	"context"
	"errors"
	"time"

	"github.com/ztagent/ztagent/internal/loop"
)

// retryDelay is how soon the background loop tries again after a failed
// rotation. The old SVID keeps being served until it expires, after which
// GetX509SVID fails closed with ErrExpired.
const retryDelay = time.Second

// Rotate mints a fresh X.509-SVID (new key, new serial) now. When the CA or
// the JWT key would not outlive two more SVID lifetimes, it also rotates them,
// keeping the previous ones in the bundles until they expire. The background
// loop calls Rotate at half of the SVID TTL; calling it by hand is safe.
func (s *DevSource) Rotate() error {
	s.mu.Lock()
	defer s.mu.Unlock()

	old := s.st.Load()
	if old == nil {
		return ErrClosed
	}
	now := s.now()
	td := s.id.TrustDomain()

	current, previous := old.current, old.previous
	if previous != nil && !now.Before(previous.notAfter) {
		previous = nil // nothing it signed can still be valid
	}
	if current.notAfter.Sub(now) < 2*s.ttl {
		next, err := newAuthority(td, now, authorityTTL(s.ttl))
		if err != nil {
			return err
		}
		current, previous = next, current
	}

	svid, err := mintX509SVID(current, s.id, now, s.ttl)
	if err != nil {
		return err
	}
	s.st.Store(newState(td, svid, current, previous))
	return nil
}

// run rotates every period until Close, on real-time timers (timers nil).
// The injected clock is only used for validity periods: a test clock that
// never advances must not stop rotation, and a test clock that jumps must
// not cause a burst of rotations.
func (s *DevSource) run(ctx context.Context, timers loop.Timers, every time.Duration) {
	defer close(s.done)
	loop.Loop{Timers: timers}.Run(ctx, every, func(context.Context) time.Duration {
		if err := s.Rotate(); err != nil {
			if errors.Is(err, ErrClosed) {
				return loop.Stop
			}
			return min(every, retryDelay)
		}
		return every
	})
}
