// Package budgettest holds the tests every budget.Store must pass, for the
// stores of this module and for one you write.
package budgettest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/toolguard/budget"
)

// Contract tests what every budget.Store must do: sums and call counts fill
// to their limit and no further, a reservation takes all or nothing,
// destinations count once each, windows slide, scopes and tools are kept
// apart, bad requests change nothing, and racers never both take the last
// unit. newStore returns a fresh, empty store and a function that moves its
// clock forward (a store on a real clock sleeps). unit is the time step
// the windows are made of: short for a store on a real clock, anything for
// one whose clock is advanced by hand. Run it from the tests of a Store of
// your own.
func Contract(t *testing.T, unit time.Duration, newStore func(t *testing.T) (budget.Store, func(time.Duration))) {
	ctx := context.Background()
	calls := func(scope string, limit float64) budget.Request {
		return budget.Request{Scope: scope, Tool: "send_money", Metric: budget.MetricCalls, Amount: 1, Limit: limit, Window: 3 * unit}
	}
	sum := func(amount, limit float64) budget.Request {
		return budget.Request{Scope: "agent:a", Tool: "send_money", Metric: budget.MetricSum("amount"), Amount: amount, Limit: limit, Window: time.Hour}
	}
	dest := func(member string, limit float64) budget.Request {
		return budget.Request{Scope: "task:t1", Tool: "send_money", Metric: budget.MetricDestinations, Member: member, Limit: limit, Window: time.Hour}
	}

	t.Run("a sum fills to its limit and no further", func(t *testing.T) {
		s, _ := newStore(t)
		_, err := s.Reserve(ctx, []budget.Request{sum(600, 1000)})
		require.NoError(t, err)
		_, err = s.Reserve(ctx, []budget.Request{sum(500, 1000)})
		var ee *budget.ExceededError
		require.ErrorAs(t, err, &ee)
		require.ErrorIs(t, err, budget.ErrExceeded)
		require.Equal(t, 600.0, ee.Used)
		r, err := s.Reserve(ctx, []budget.Request{sum(400, 1000)})
		require.NoError(t, err, "exactly the limit is within it")
		u, err := s.Usage(ctx, "agent:a", "send_money")
		require.NoError(t, err)
		require.Equal(t, map[string]float64{"sum:amount": 1000}, u)
		require.NoError(t, s.Release(ctx, r))
		require.NoError(t, s.Release(ctx, r), "twice is once")
		u, err = s.Usage(ctx, "agent:a", "send_money")
		require.NoError(t, err)
		require.Equal(t, map[string]float64{"sum:amount": 600}, u)
	})

	t.Run("all or nothing", func(t *testing.T) {
		s, _ := newStore(t)
		_, err := s.Reserve(ctx, []budget.Request{calls("agent:a", 5), sum(2000, 1000)})
		require.ErrorIs(t, err, budget.ErrExceeded)
		u, err := s.Usage(ctx, "agent:a", "send_money")
		require.NoError(t, err)
		require.Zero(t, u["calls"], "the call budget took nothing")
	})

	t.Run("destinations count once each", func(t *testing.T) {
		s, _ := newStore(t)
		for _, m := range []string{"iban:DE1", "iban:DE1", "iban:DE2"} {
			_, err := s.Reserve(ctx, []budget.Request{dest(m, 2)})
			require.NoError(t, err, m)
		}
		_, err := s.Reserve(ctx, []budget.Request{dest("iban:DE3", 2)})
		require.ErrorIs(t, err, budget.ErrExceeded)
		_, err = s.Reserve(ctx, []budget.Request{dest("iban:DE2", 2)})
		require.NoError(t, err, "one already counted stays within")
		_, err = s.Reserve(ctx, []budget.Request{dest("iban:DE4", 3), dest("iban:DE5", 3)})
		require.ErrorIs(t, err, budget.ErrExceeded, "two new ones in one call count as two")
		u, err := s.Usage(ctx, "task:t1", "send_money")
		require.NoError(t, err)
		require.Equal(t, map[string]float64{"destinations": 2}, u)
	})

	t.Run("the window slides", func(t *testing.T) {
		s, advance := newStore(t)
		for range 3 {
			_, err := s.Reserve(ctx, []budget.Request{calls("agent:w", 3)})
			require.NoError(t, err)
			advance(unit + unit/10)
		}
		_, err := s.Reserve(ctx, []budget.Request{calls("agent:w", 3)})
		require.NoError(t, err, "the first call has left the window")
		_, err = s.Reserve(ctx, []budget.Request{calls("agent:w", 3)})
		require.ErrorIs(t, err, budget.ErrExceeded)
	})

	t.Run("scopes and tools are apart", func(t *testing.T) {
		s, _ := newStore(t)
		_, err := s.Reserve(ctx, []budget.Request{calls("agent:x", 1)})
		require.NoError(t, err)
		_, err = s.Reserve(ctx, []budget.Request{calls("agent:y", 1)})
		require.NoError(t, err)
		other := calls("agent:x", 1)
		other.Tool = "send_email"
		_, err = s.Reserve(ctx, []budget.Request{other})
		require.NoError(t, err)
		u, err := s.Usage(ctx, "agent:z", "send_money")
		require.NoError(t, err)
		require.Empty(t, u)
	})

	t.Run("bad requests change nothing", func(t *testing.T) {
		s, _ := newStore(t)
		for _, r := range []budget.Request{
			{Tool: "t", Metric: budget.MetricCalls, Amount: 1, Limit: 1, Window: time.Minute},
			{Scope: "s", Tool: "t", Metric: "bogus", Amount: 1, Limit: 1, Window: time.Minute},
			{Scope: "s", Tool: "t", Metric: budget.MetricCalls, Amount: -1, Limit: 1, Window: time.Minute},
			{Scope: "s", Tool: "t", Metric: budget.MetricCalls, Amount: 1, Limit: 1},
			{Scope: "s", Tool: "t", Metric: budget.MetricDestinations, Limit: 1, Window: time.Minute},
			{Scope: "s\x00", Tool: "t", Metric: budget.MetricCalls, Amount: 1, Limit: 1, Window: time.Minute},
		} {
			_, err := s.Reserve(ctx, []budget.Request{calls("s", 5), r})
			require.Error(t, err)
			require.NotErrorIs(t, err, budget.ErrExceeded)
		}
		u, err := s.Usage(ctx, "s", "send_money")
		require.NoError(t, err)
		require.Empty(t, u)
	})

	t.Run("racers never both take the last unit", func(t *testing.T) {
		s, _ := newStore(t)
		const limit = 10
		var won atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Reserve(ctx, []budget.Request{calls("agent:race", limit)})
				if err == nil {
					won.Add(1)
				} else if !errors.Is(err, budget.ErrExceeded) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		require.EqualValues(t, limit, won.Load())
	})
}
