package identity

import (
	"errors"
	"time"
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

// run rotates on a real-time timer until Close. The injected clock is only
// used for validity periods: a test clock that never advances must not stop
// rotation, and a test clock that jumps must not cause a burst of rotations.
func (s *DevSource) run(every time.Duration) {
	defer close(s.done)
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			next := every
			if err := s.Rotate(); err != nil {
				if errors.Is(err, ErrClosed) {
					return
				}
				next = min(every, retryDelay)
			}
			t.Reset(next)
		}
	}
}
