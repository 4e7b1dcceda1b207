package identity

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/fakeclock"
	"github.com/ztagent/ztagent/internal/loop"
)

type fakeClock = fakeclock.Clock

// newFakeClock starts near real time so go-spiffe's wall-clock JWT checks
// still pass.
func newFakeClock() *fakeClock { return fakeclock.New(time.Now()) }

// withRotateEvery shortens the real-time rotation period for tests.
func withRotateEvery(d time.Duration) DevOption {
	return devOptionFunc(func(c *devConfig) { c.rotateEvery = d })
}

// withTimers makes the rotation loop wait on timers instead of real time.
func withTimers(timers loop.Timers) DevOption {
	return devOptionFunc(func(c *devConfig) { c.timers = timers })
}

func newTestSource(t *testing.T, opts ...DevOption) *DevSource {
	t.Helper()
	s, err := NewDevSource(context.Background(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}
