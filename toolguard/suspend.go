package toolguard

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ztagent/ztagent/authz"
)

// Codes of suspension, the kill switch: the same codes whether the guard
// was told (Guard.Suspend) or the policy says so (the default policy's
// data.suspended, which a signed bundle delivers to a fleet).
const (
	CodeAgentSuspended = "agent_suspended"
	CodeTaskSuspended  = "task_suspended"
)

// Suspension names what Suspend stops: an agent by its SPIFFE ID, or a
// task by its id. Exactly one is set.
type Suspension struct {
	Agent string
	Task  string
}

func (s Suspension) check() error {
	if (s.Agent == "") == (s.Task == "") {
		return errors.New("toolguard: a suspension names an agent or a task, one of them")
	}
	return nil
}

// suspensions is what this guard has been told to stop; replaced whole on
// change, read without a lock on every call.
type suspensions struct {
	agents, tasks map[string]bool
}

type suspender struct {
	mu  sync.Mutex
	cur atomic.Pointer[suspensions]
}

func (s *suspender) update(f func(*suspensions)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := &suspensions{agents: map[string]bool{}, tasks: map[string]bool{}}
	if cur := s.cur.Load(); cur != nil {
		maps.Copy(next.agents, cur.agents)
		maps.Copy(next.tasks, cur.tasks)
	}
	f(next)
	s.cur.Store(next)
}

// suspended is the code that denies a call of agent under task, or "".
func (s *suspender) suspended(agent, task string) string {
	cur := s.cur.Load()
	switch {
	case cur == nil:
		return ""
	case cur.agents[agent]:
		return CodeAgentSuspended
	case task != "" && cur.tasks[task]:
		return CodeTaskSuspended
	}
	return ""
}

// Suspend stops an agent or a task at once, in this guard: every later
// call of the agent, or made under the task, is denied (CodeAgentSuspended,
// CodeTaskSuspended), and the task credentials it holds are revoked (a
// revocation that fails is retried, as Task.End's are). Calls already
// running finish. Resume lifts it. For a fleet, publish the suspension in
// the policy data instead (data.suspended in the default policy), which
// every guard polling the bundle applies.
func (g *Guard) Suspend(ctx context.Context, s Suspension) error {
	if err := s.check(); err != nil {
		return err
	}
	g.suspend.update(func(cur *suspensions) {
		if s.Agent != "" {
			cur.agents[s.Agent] = true
		} else {
			cur.tasks[s.Task] = true
		}
	})
	return g.revokeSuspended(ctx, s)
}

// Resume lifts a suspension Suspend made. The policy's own (data.suspended)
// stays as the data says.
func (g *Guard) Resume(s Suspension) error {
	if err := s.check(); err != nil {
		return err
	}
	g.suspend.update(func(cur *suspensions) {
		delete(cur.agents, s.Agent)
		delete(cur.tasks, s.Task)
	})
	return nil
}

// revokeSuspended revokes the task credentials an agent or a task holds.
func (g *Guard) revokeSuspended(ctx context.Context, s Suspension) error {
	return g.revokeShared(ctx, func(sc *sharedCred) bool {
		return s.Agent != "" && sc.req.Subject == s.Agent || s.Task != "" && sc.task.ID == s.Task
	})
}

// revokeShared revokes the task credentials of every holder that stop
// says is suspended, and counts them.
func (g *Guard) revokeShared(ctx context.Context, stop func(*sharedCred) bool) error {
	var errs error
	g.shared.Range(func(k, _ any) bool {
		if sc := k.(*sharedCred); stop(sc) {
			errs = errors.Join(errs, sc.revokeAll(ctx))
			g.stats.suspendRevokes.Add(1)
		}
		return true
	})
	return errs
}

// suspended denies a call of a suspended agent or task (Suspend).
func (c *call) suspended(ctx context.Context) *DeniedError {
	taskID := ""
	if t := task(ctx); t != nil {
		taskID = t.ID
	}
	switch c.g.suspend.suspended(c.who.subject, taskID) {
	case CodeAgentSuspended:
		return deny(c.tool, c.id, CodeAgentSuspended, "the agent "+c.who.subject+" is suspended", nil)
	case CodeTaskSuspended:
		return deny(c.tool, c.id, CodeTaskSuspended, "the task "+taskID+" is suspended", nil)
	}
	return nil
}

// policySuspended revokes the task credentials of an agent or a task the
// policy says is suspended (a fleet's kill switch, delivered as data),
// the first time a call of it is denied so.
func (c *call) policySuspended(ctx context.Context, code string) {
	var s Suspension
	switch code {
	case CodeAgentSuspended:
		s.Agent = c.who.subject
	case CodeTaskSuspended:
		if t := task(ctx); t != nil {
			s.Task = t.ID
		}
	}
	if s.check() == nil {
		_ = c.g.revokeSuspended(context.WithoutCancel(ctx), s) // failures are retried and counted by the revoker
	}
}

// policySuspensions is what a Decider offers when it can say what its
// policy suspends, and when that changes (*authz.Engine does).
type policySuspensions interface {
	Suspended() authz.Suspended
	Watch(func(authz.ReloadEvent)) (stop func())
}

// watchSuspensions revokes, after every policy reload, the task
// credentials of the agents and tasks the policy now suspends: a fleet's
// kill switch (data.suspended, delivered as a bundle) takes their
// credentials at once, not at their next call. A task credential minted
// by a call that was decided just before the reload wakes it too
// (wakeSuspensionSweep), so none outlives the sweep. It runs until ctx
// ends.
func (g *Guard) watchSuspensions(ctx context.Context, done *sync.WaitGroup, ps policySuspensions) {
	defer done.Done()
	stop := ps.Watch(func(authz.ReloadEvent) { g.wakeSuspensionSweep() })
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.sweepWake:
			g.sweepSuspended(ctx, ps.Suspended())
		}
	}
}

// wakeSuspensionSweep asks for a sweep; one already due covers it.
func (g *Guard) wakeSuspensionSweep() {
	select {
	case g.sweepWake <- struct{}{}:
	default:
	}
}

// sweepSuspended revokes the task credentials of what s suspends.
func (g *Guard) sweepSuspended(ctx context.Context, s authz.Suspended) {
	if len(s.Agents) == 0 && len(s.Tasks) == 0 {
		return
	}
	_ = g.revokeShared(ctx, func(sc *sharedCred) bool { // failures are retried and counted by the revoker
		return slices.Contains(s.Agents, sc.req.Subject) || slices.Contains(s.Tasks, sc.task.ID)
	})
}
