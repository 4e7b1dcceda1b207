package toolguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/internal/redistest"
	"github.com/ztagent/ztagent/toolguard"
	"github.com/ztagent/ztagent/toolguard/budget"
	"github.com/ztagent/ztagent/toolguard/budget/redisbudget"
)

// budgetData: the test agent may pay two payees, at most 1000 per task per
// day, 3 payments an hour, to at most 2 distinct payees a day.
var budgetData = []byte(`{"agents": {"` + agentID + `": {
	"tools": ["send_money"],
	"recipients": {"iban": ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606"]},
	"budgets": {"send_money": [
		{"per": "task", "metric": "sum", "arg": "amount", "limit": 1000, "window_seconds": 86400},
		{"per": "agent", "metric": "calls", "limit": 3, "window_seconds": 3600},
		{"per": "agent", "metric": "destinations", "limit": 2, "window_seconds": 86400}]}}},
  "tools": {"send_money": {"approval": "never"}}}`)

var payTool = toolguard.Tool{Name: "send_money", Effect: toolguard.External,
	Destinations: []toolguard.Dest{toolguard.RecipientArg("to", toolguard.RecipientIBAN)}}

func budgetEngine(t *testing.T) *authz.Engine {
	t.Helper()
	eng, err := authz.New(context.Background(), authz.WithDataJSON(budgetData), authz.WithTimeout(30*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	return eng
}

func pay(to string, amount int) json.RawMessage {
	return json.RawMessage(fmt.Sprintf(`{"to":%q,"amount":%d}`, to, amount))
}

func TestBudgetsHoldOverCalls(t *testing.T) {
	store := budget.NewMemory()
	f := newFixture(t, toolguard.WithDecider(budgetEngine(t)), toolguard.WithBudgets(store))
	fn, ran := guardedProbe(t, f.guard, payTool)
	task := &toolguard.Task{ID: "t-pay"}
	ctx := toolguard.WithTask(context.Background(), task)

	_, err := fn(ctx, pay("DE89370400440532013000", 600))
	require.NoError(t, err)
	// The policy sees 600 of 1000 used and refuses 500 more.
	_, err = fn(ctx, pay("DE89370400440532013000", 500))
	requireDenied(t, err, toolguard.CodeBudgetExceeded)
	_, err = fn(ctx, pay("GB82WEST12345698765432", 400))
	require.NoError(t, err)
	// A third payee in a day: the store judges it (the policy cannot tell
	// a new destination from one already counted).
	_, err = fn(toolguard.WithTask(context.Background(), &toolguard.Task{ID: "t-2"}), pay("FR1420041010050500013M02606", 1))
	d := requireDenied(t, err, toolguard.CodeBudgetExceeded)
	require.Contains(t, d.Reason, `"destinations"`)
	// A payee already counted is still within; but that is the 3rd call
	// this hour and the 4th is refused.
	_, err = fn(toolguard.WithTask(context.Background(), &toolguard.Task{ID: "t-2"}), pay("DE89370400440532013000", 1))
	require.NoError(t, err)
	_, err = fn(toolguard.WithTask(context.Background(), &toolguard.Task{ID: "t-3"}), pay("DE89370400440532013000", 1))
	requireDenied(t, err, toolguard.CodeBudgetExceeded)
	require.EqualValues(t, 3, ran.Load())

	u, err := store.Usage(context.Background(), "task:t-pay", "send_money")
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"sum:amount": 1000}, u, "refused calls took nothing")
}

// A call denied after its reservation (here: the approver refuses) gives
// its use back.
func TestBudgetReleasedWhenTheCallDoesNotRun(t *testing.T) {
	store := budget.NewMemory()
	refuse := toolguard.ApproverFunc(func(context.Context, toolguard.ApprovalRequest) (toolguard.Approval, error) {
		return toolguard.Approval{Approved: false}, nil
	})
	data := []byte(`{"agents": {"` + agentID + `": {"tools": ["send_money"], "recipients": {"iban": ["DE89370400440532013000"]},
		"budgets": {"send_money": [{"per": "agent", "metric": "calls", "limit": 1, "window_seconds": 60}]}}},
		"tools": {"send_money": {"approval": "always"}}}`)
	eng, err := authz.New(context.Background(), authz.WithDataJSON(data), authz.WithTimeout(30*time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	f := newFixture(t, toolguard.WithDecider(eng), toolguard.WithBudgets(store), toolguard.WithApprover(refuse))
	fn, _ := guardedProbe(t, f.guard, payTool)
	for range 3 {
		_, err := fn(context.Background(), pay("DE89370400440532013000", 5))
		requireDenied(t, err, toolguard.CodeApprovalRefused)
	}
	u, err := store.Usage(context.Background(), "agent:"+agentID, "send_money")
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"calls": 0}, u)
}

// failingStore cannot read or reserve.
type failingStore struct{ budget.Store }

func (failingStore) Usage(context.Context, string, string) (map[string]float64, error) {
	return nil, errors.New("store down")
}

func TestBudgetStoreDownFailsClosed(t *testing.T) {
	f := newFixture(t, toolguard.WithDecider(budgetEngine(t)), toolguard.WithBudgets(failingStore{}))
	fn, ran := guardedProbe(t, f.guard, payTool)
	_, err := fn(context.Background(), pay("DE89370400440532013000", 5))
	requireDenied(t, err, toolguard.CodeBudgetUnavailable)
	require.Zero(t, ran.Load())
}

// Several guards — replicas of one agent — share one Redis and race for
// the last units of a budget: exactly the limit runs, whatever each
// replica's policy saw.
func TestBudgetHoldsAcrossReplicasOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	const replicas, callsEach, limit = 4, 10, 7
	data := []byte(`{"agents": {"` + agentID + `": {"tools": ["send_money"], "recipients": {"iban": ["DE89370400440532013000"]},
		"budgets": {"send_money": [{"per": "agent", "metric": "sum", "arg": "amount", "limit": ` + fmt.Sprint(limit) + `, "window_seconds": 3600}]}}},
		"tools": {"send_money": {"approval": "never"}}}`)
	var ran atomic.Int32
	var fns []func(context.Context, json.RawMessage) (json.RawMessage, error)
	for range replicas {
		store, err := redisbudget.New(srv.Client(t))
		require.NoError(t, err)
		eng, err := authz.New(context.Background(), authz.WithDataJSON(data), authz.WithTimeout(30*time.Second))
		require.NoError(t, err)
		t.Cleanup(func() { _ = eng.Close() })
		f := newFixture(t, toolguard.WithDecider(eng), toolguard.WithBudgets(store))
		fn, err := toolguard.WrapJSON(f.guard, payTool, func(context.Context, json.RawMessage) (json.RawMessage, error) {
			ran.Add(1)
			return nil, nil
		})
		require.NoError(t, err)
		fns = append(fns, fn)
	}
	var wg sync.WaitGroup
	var exceeded atomic.Int32
	for _, fn := range fns {
		for range callsEach {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := fn(context.Background(), pay("DE89370400440532013000", 1))
				var d *toolguard.DeniedError
				if errors.As(err, &d) && d.Code == toolguard.CodeBudgetExceeded {
					exceeded.Add(1)
				} else if err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	require.EqualValues(t, limit, ran.Load(), "exactly the limit ran across the replicas")
	require.EqualValues(t, replicas*callsEach-limit, exceeded.Load())
}
