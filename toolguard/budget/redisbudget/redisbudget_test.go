package redisbudget_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/redistest"
	"github.com/ztagent/ztagent/toolguard/budget"
	"github.com/ztagent/ztagent/toolguard/budget/budgettest"
	"github.com/ztagent/ztagent/toolguard/budget/redisbudget"
)

// The store passes the contract every budget.Store must, against a real
// redis-server; its windows run on the server's clock, so time passes for
// real, in short steps.
func TestRedisStore(t *testing.T) {
	srv := redistest.Start(t)
	var n atomic.Int32
	budgettest.Contract(t, 300*time.Millisecond, func(t *testing.T) (budget.Store, func(time.Duration)) {
		s, err := redisbudget.New(srv.Client(t), redisbudget.WithPrefix(fmt.Sprintf("test%d", n.Add(1))))
		require.NoError(t, err)
		return s, time.Sleep
	})
}

// Two stores on one server (two replicas of an agent) share the budget.
func TestRedisStoreAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	a, err := redisbudget.New(srv.Client(t))
	require.NoError(t, err)
	b, err := redisbudget.New(srv.Client(t))
	require.NoError(t, err)
	req := []budget.Request{{Scope: "agent:x", Tool: "pay", Metric: budget.MetricSum("amount"), Amount: 60, Limit: 100, Window: time.Hour}}
	ctx := context.Background()
	_, err = a.Reserve(ctx, req)
	require.NoError(t, err)
	_, err = b.Reserve(ctx, req)
	require.ErrorIs(t, err, budget.ErrExceeded)
	u, err := b.Usage(ctx, "agent:x", "pay")
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"sum:amount": 60}, u)
}

func TestNewRefusesNilClient(t *testing.T) {
	_, err := redisbudget.New(nil)
	require.Error(t, err)
}
