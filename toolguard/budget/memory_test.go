package budget_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/fakeclock"
	"github.com/ztagent/ztagent/toolguard/budget"
	"github.com/ztagent/ztagent/toolguard/budget/budgettest"
)

func TestMemoryStore(t *testing.T) {
	budgettest.Contract(t, 20*time.Second, func(t *testing.T) (budget.Store, func(time.Duration)) {
		clk := fakeclock.New(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
		return budget.NewMemory(budget.WithClock(clk.Now)), clk.Advance
	})
}

// A full store refuses rather than allowing what it cannot count, and
// makes room by forgetting what has left every window.
func TestMemoryStoreBound(t *testing.T) {
	clk := fakeclock.New(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	s := budget.NewMemory(budget.WithClock(clk.Now), budget.WithMaxEntries(3))
	ctx := context.Background()
	req := func(scope string) []budget.Request {
		return []budget.Request{{Scope: scope, Tool: "t", Metric: budget.MetricCalls, Amount: 1, Limit: 100, Window: time.Minute}}
	}
	for _, sc := range []string{"task:1", "task:2", "task:3"} {
		_, err := s.Reserve(ctx, req(sc))
		require.NoError(t, err)
	}
	_, err := s.Reserve(ctx, req("task:4"))
	require.ErrorIs(t, err, budget.ErrFull)
	clk.Advance(2 * time.Minute)
	_, err = s.Reserve(ctx, req("task:4"))
	require.NoError(t, err, "what left its window was forgotten")
}
