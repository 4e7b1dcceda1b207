package loop_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ztagent/ztagent/internal/fakeclock"
	"github.com/ztagent/ztagent/internal/loop"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// started runs fn on a goroutine and returns a channel closed when it
// returns, and the cancel that ends it.
func started(fn func(ctx context.Context)) (done chan struct{}, cancel context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	return done, cancel
}

// requireNoRun fails if ran holds a run. Sound only where no tick was
// delivered since the last run received: then the loop cannot have run.
func requireNoRun[T any](t *testing.T, ran <-chan T) {
	t.Helper()
	select {
	case <-ran:
		t.Fatal("the function ran with no tick delivered")
	default:
	}
}

func TestEveryRunsAtAFixedRateAndDropsMissedTicks(t *testing.T) {
	clk := fakeclock.New(t0)
	ran := make(chan struct{})
	done, cancel := started(func(ctx context.Context) {
		loop.Loop{Timers: clk}.Every(ctx, time.Second, func(context.Context) { ran <- struct{}{} })
	})
	clk.WaitArmed(1)

	clk.Advance(time.Second - time.Nanosecond)
	require.Zero(t, clk.Ticks(), "nothing is due before the period")
	requireNoRun(t, ran)

	clk.Advance(time.Nanosecond)
	<-ran
	require.Equal(t, 1, clk.Ticks())

	// Two and a half periods at once: one run, the missed tick dropped,
	// and the rate kept (the next is due at t0+4s, not 1s from now).
	clk.Advance(2500 * time.Millisecond)
	<-ran
	require.Equal(t, 2, clk.Ticks())
	requireNoRun(t, ran)
	clk.Advance(499 * time.Millisecond)
	require.Equal(t, 2, clk.Ticks())
	clk.Advance(time.Millisecond)
	<-ran

	cancel()
	<-done
	require.Zero(t, clk.Tickers(), "the ticker is stopped when the loop ends")
}

func TestEveryRunsAtOnceOnWake(t *testing.T) {
	clk := fakeclock.New(t0)
	wake := make(chan struct{})
	ran := make(chan struct{})
	done, cancel := started(func(ctx context.Context) {
		loop.Loop{Timers: clk, Wake: wake}.Every(ctx, time.Hour, func(context.Context) { ran <- struct{}{} })
	})
	defer func() { cancel(); <-done }()
	clk.WaitArmed(1)
	for range 3 {
		wake <- struct{}{}
		<-ran
	}
	require.Zero(t, clk.Ticks(), "woken, not ticked")
}

// Once ctx ends the loop returns, whether it was waiting or running, and
// never starts f again: a tick delivered at the moment of cancellation is
// not a run.
func TestEveryStopsWhenItsContextEnds(t *testing.T) {
	t.Run("while waiting", func(t *testing.T) {
		clk := fakeclock.New(t0)
		done, cancel := started(func(ctx context.Context) {
			loop.Loop{Timers: clk}.Every(ctx, time.Second, func(context.Context) { t.Error("ran") })
		})
		clk.WaitArmed(1)
		cancel()
		<-done
		require.Zero(t, clk.Tickers())
	})
	t.Run("while running", func(t *testing.T) {
		clk := fakeclock.New(t0)
		// Buffered, so a run that should not happen does not block.
		running, release := make(chan struct{}, 2), make(chan struct{})
		runs := 0
		done, cancel := started(func(ctx context.Context) {
			loop.Loop{Timers: clk}.Every(ctx, time.Second, func(context.Context) {
				runs++
				running <- struct{}{}
				<-release
			})
		})
		clk.WaitArmed(1)
		clk.Advance(time.Second)
		<-running
		clk.Advance(time.Second) // a tick waits for the loop
		cancel()
		close(release)
		<-done
		require.Equal(t, 1, runs, "no run starts after ctx ended")
		require.Equal(t, 2, clk.Ticks())
	})
}

// Run waits first, then whatever each run returns, counted from when it
// returned; Stop and ctx end it.
func TestRunWaitsTheDelayEachRunChooses(t *testing.T) {
	clk := fakeclock.New(t0)
	delays := []time.Duration{3 * time.Second, 0, time.Second, loop.Stop}
	ran := make(chan time.Time)
	done, _ := started(func(ctx context.Context) {
		i := 0
		loop.Loop{Timers: clk}.Run(ctx, 2*time.Second, func(context.Context) time.Duration {
			ran <- clk.Now()
			i++
			return delays[i-1]
		})
	})

	clk.WaitArmed(1)
	clk.Advance(2*time.Second - time.Nanosecond)
	requireNoRun(t, ran)
	clk.Advance(time.Nanosecond)
	require.Equal(t, t0.Add(2*time.Second), <-ran, "first run after first")

	// The wait is counted from the end of the run: time spent in it
	// (here a tick's worth) does not shorten the next wait.
	clk.WaitArmed(2)
	clk.Advance(3*time.Second - time.Nanosecond)
	require.Equal(t, 1, clk.Ticks())
	requireNoRun(t, ran)
	clk.Advance(time.Nanosecond)
	require.Equal(t, t0.Add(5*time.Second), <-ran)

	// 0: at once, with no tick.
	require.Equal(t, t0.Add(5*time.Second), <-ran)
	require.Equal(t, 2, clk.Ticks())

	clk.WaitArmed(3)
	clk.Advance(time.Second)
	require.Equal(t, t0.Add(6*time.Second), <-ran)
	<-done // Stop
	require.Zero(t, clk.Tickers())
}

// A tick that came due while a run was busy is discarded when the next
// wait starts: the next run waits its whole delay.
func TestRunDiscardsATickThatCameDuringARun(t *testing.T) {
	clk := fakeclock.New(t0)
	ran := make(chan struct{})
	done, cancel := started(func(ctx context.Context) {
		loop.Loop{Timers: clk}.Run(ctx, time.Second, func(context.Context) time.Duration {
			ran <- struct{}{}
			clk.Advance(time.Second) // a tick of the old period, during the run
			return 10 * time.Second
		})
	})
	defer func() { cancel(); <-done }()
	clk.WaitArmed(1)
	clk.Advance(time.Second)
	<-ran
	clk.WaitArmed(2)
	require.Equal(t, 2, clk.Ticks())
	clk.Advance(10*time.Second - time.Nanosecond) // 10s after the run ended, less 1ns
	requireNoRun(t, ran)
	clk.Advance(time.Nanosecond)
	<-ran
}

func TestRunStopsWhenItsContextEnds(t *testing.T) {
	t.Run("before the first run", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		loop.Loop{}.Run(ctx, 0, func(context.Context) time.Duration {
			t.Error("ran")
			return loop.Stop
		})
	})
	t.Run("while waiting", func(t *testing.T) {
		clk := fakeclock.New(t0)
		done, cancel := started(func(ctx context.Context) {
			loop.Loop{Timers: clk}.Run(ctx, time.Second, func(context.Context) time.Duration {
				t.Error("ran")
				return loop.Stop
			})
		})
		clk.WaitArmed(1)
		cancel()
		<-done
		require.Zero(t, clk.Tickers())
	})
	t.Run("a run that asks for another at once", func(t *testing.T) {
		runs := 0
		ctx, cancel := context.WithCancel(context.Background())
		loop.Loop{}.Run(ctx, 0, func(context.Context) time.Duration {
			runs++
			cancel()
			return 0
		})
		require.Equal(t, 1, runs)
	})
}

// The real timers, in a synctest bubble: time there is virtual, so the
// sleeps below move it rather than wait, and synctest.Wait returns once
// the loop is blocked again.
func TestRealTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		ctx, cancel := context.WithCancel(t.Context())
		go loop.Loop{}.Every(ctx, time.Second, func(context.Context) { runs.Add(1) })
		time.Sleep(time.Second - time.Nanosecond)
		synctest.Wait()
		require.Zero(t, runs.Load())
		time.Sleep(2 * time.Second)
		synctest.Wait()
		require.EqualValues(t, 2, runs.Load())

		at := make(chan time.Duration, 3)
		start := time.Now()
		go loop.Loop{}.Run(ctx, time.Second, func(context.Context) time.Duration {
			at <- time.Since(start)
			if len(at) == cap(at) {
				return loop.Stop
			}
			return 2 * time.Second
		})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		require.Equal(t, time.Second, <-at)
		require.Equal(t, 3*time.Second, <-at)
		require.Equal(t, 5*time.Second, <-at)
		cancel()
		synctest.Wait()
	})
}

func TestBackoffDelay(t *testing.T) {
	tests := []struct {
		name string
		b    loop.Backoff
		n    int
		want time.Duration
	}{
		{"step 0 is base", loop.Backoff{Base: time.Second}, 0, time.Second},
		{"doubles", loop.Backoff{Base: time.Second}, 3, 8 * time.Second},
		{"negative step is step 0", loop.Backoff{Base: time.Second}, -1, time.Second},
		{"capped", loop.Backoff{Base: time.Second, Max: 5 * time.Second}, 3, 5 * time.Second},
		{"below the cap", loop.Backoff{Base: time.Second, Max: 5 * time.Second}, 2, 4 * time.Second},
		{"no overflow", loop.Backoff{Base: time.Second}, 1000, time.Duration(1<<63 - 1)},
		{"no overflow, capped", loop.Backoff{Base: time.Second, Max: time.Hour}, 1 << 30, time.Hour},
		{"zero base", loop.Backoff{}, 1 << 30, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.b.Delay(tt.n))
		})
	}
}
