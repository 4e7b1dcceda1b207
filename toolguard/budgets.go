package toolguard

import (
	"context"
	"errors"
	"maps"
	"strings"
	"time"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard/budget"
)

// Codes of budgets the guard keeps.
const (
	// CodeBudgetExceeded denies a call whose use of a budget would pass
	// its limit, judged when the use is reserved: the same code as the
	// default policy's, which judges the usage it was shown.
	CodeBudgetExceeded = "budget_exceeded"
	// CodeBudgetUnavailable denies a call whose budgets could not be read
	// or reserved (the store failed): a budget that cannot count must not
	// allow.
	CodeBudgetUnavailable = "budget_unavailable"
)

// WithBudgets sets the store budgets are kept in. The default is an
// in-process budget.Memory of the guard's own; give every replica of an
// agent one shared store (package redisbudget) for budgets to hold across
// them.
func WithBudgets(s budget.Store) Option {
	return optionFunc(func(c *config) error {
		if s == nil {
			return errors.New("toolguard: WithBudgets(nil)")
		}
		c.budgets = s
		return nil
	})
}

// budgetScope names a budget's scope in the store.
func budgetScope(scope, agent, task string) string {
	if scope == "task" {
		return "task:" + task
	}
	return "agent:" + agent
}

// budgetScope is the task's scope in the budget store, made once rather
// than on every call (checked against ID, which a caller could change).
func (t *Task) budgetScope() string {
	if p := t.scope.Load(); p != nil && strings.TrimPrefix(*p, "task:") == t.ID {
		return *p
	}
	s := budgetScope("task", "", t.ID)
	t.scope.Store(&s)
	return s
}

// usage is what the agent's and the task's budgets for the tool hold now,
// for input.usage; nil when neither has any.
func (c *call) usage(ctx context.Context, t *Task) (*authz.Usage, error) {
	agent, err := c.g.budgets.Usage(ctx, c.who.budgetScope, c.tool.Name)
	if err != nil {
		return nil, err
	}
	var task map[string]float64
	if t != nil && t.ID != "" {
		if task, err = c.g.budgets.Usage(ctx, t.budgetScope(), c.tool.Name); err != nil {
			return nil, err
		}
	}
	if len(agent) == 0 && len(task) == 0 {
		return nil, nil
	}
	u := &authz.Usage{}
	if len(agent) > 0 {
		u.Agent = map[string]authz.ToolUsage{c.tool.Name: toolUsage(agent)}
	}
	if len(task) > 0 {
		u.Task = map[string]authz.ToolUsage{c.tool.Name: toolUsage(task)}
	}
	return u, nil
}

func toolUsage(metrics map[string]float64) authz.ToolUsage {
	var tu authz.ToolUsage
	for m, v := range maps.All(metrics) {
		switch {
		case m == budget.MetricCalls:
			tu.Calls = v
		case m == budget.MetricDestinations:
			tu.Destinations = v
		case strings.HasPrefix(m, "sum:"):
			if tu.Sum == nil {
				tu.Sum = map[string]float64{}
			}
			tu.Sum[strings.TrimPrefix(m, "sum:")] = v
		}
	}
	return tu
}

// reserve takes what the decision says the call uses of its budgets. It
// runs once the policy has allowed, before approval, so a human is not
// asked about a call its budgets would refuse; a call denied later gives
// it back (release).
func (c *call) reserve(ctx context.Context) *DeniedError {
	uses := c.dec.Budgets
	if len(uses) == 0 {
		return nil
	}
	taskID := c.input.Task.ID
	var reqs []budget.Request
	for _, u := range uses {
		r := budget.Request{
			Scope: budgetScope(u.Scope, c.input.Subject.SPIFFEID, taskID), Tool: c.tool.Name, Metric: u.Metric,
			Amount: u.Amount, Limit: u.Limit, Window: time.Duration(u.WindowSeconds) * time.Second,
		}
		if u.Scope == "task" && taskID == "" {
			return deny(c.tool, c.id, CodeBudgetUnavailable, "the decision uses a task budget, and the call has no task", nil)
		}
		if u.Metric != budget.MetricDestinations {
			reqs = append(reqs, r)
			continue
		}
		for _, m := range u.Members {
			r.Member = m
			reqs = append(reqs, r)
		}
	}
	res, err := c.g.budgets.Reserve(ctx, reqs)
	var ee *budget.ExceededError
	switch {
	case errors.As(err, &ee):
		return deny(c.tool, c.id, CodeBudgetExceeded, "the "+strings.SplitN(ee.Scope, ":", 2)[0]+" budget of \""+ee.Metric+"\" for "+ee.Tool+" is used up", err)
	case err != nil:
		return deny(c.tool, c.id, CodeBudgetUnavailable, "the call's budgets could not be reserved", err)
	}
	c.reservation = res
	return nil
}

// release gives back the reservation of a call that will not run.
func (c *call) release(ctx context.Context) {
	if c.reservation == nil {
		return
	}
	if err := c.g.budgets.Release(context.WithoutCancel(ctx), c.reservation); err != nil {
		c.g.stats.budgetReleaseFailures.Add(1)
	}
	c.reservation = nil
}

// detachedUsage copies u for the Decider's own input (see detached): it
// may keep or change it, and the guard's later steps read the usage too.
func detachedUsage(u authz.Usage) authz.Usage {
	clone := func(m map[string]authz.ToolUsage) map[string]authz.ToolUsage {
		if m == nil {
			return nil
		}
		out := make(map[string]authz.ToolUsage, len(m))
		for k, tu := range m {
			tu.Sum = maps.Clone(tu.Sum)
			out[k] = tu
		}
		return out
	}
	return authz.Usage{Agent: clone(u.Agent), Task: clone(u.Task)}
}
