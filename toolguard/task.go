package toolguard

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Task is the unit of work the agent was given. The policy sees its purpose,
// scopes, expiry and how many calls it has used.
type Task struct {
	ID        string
	Purpose   string
	Scopes    []string
	ExpiresAt time.Time // zero: no expiry

	calls atomic.Int64

	mu     sync.Mutex
	shared map[string]*sharedCred // credentials the policy let this task's calls share
	// ended is set under mu (so End and a credential's swap agree) and
	// read without it on every call.
	ended atomic.Bool
	// scope is the task's budget scope, "task:<id>", made once.
	scope atomic.Pointer[string]
}

// CallsUsed is the number of guarded calls attempted under the task.
func (t *Task) CallsUsed() int { return int(t.calls.Load()) }

// WithTask returns a context whose calls count against t.
func WithTask(ctx context.Context, t *Task) context.Context {
	return context.WithValue(ctx, taskKey, t)
}

func task(ctx context.Context) *Task {
	t, _ := ctx.Value(taskKey).(*Task)
	return t
}

// End ends the task: every credential its calls shared is revoked (retried
// in the background if the issuer fails), and later calls under the task are
// denied with CodeTaskEnded. Idempotent.
func (t *Task) End(ctx context.Context) error {
	t.mu.Lock()
	if t.ended.Load() {
		t.mu.Unlock()
		return nil
	}
	t.ended.Store(true)
	var all []*sharedCred
	for _, sc := range t.shared {
		all = append(all, sc)
	}
	t.mu.Unlock()
	var errs error
	for _, sc := range all {
		errs = errors.Join(errs, sc.revokeAll(ctx))
	}
	return errs
}

// hasEnded reports whether End was called: every later call under the task
// is denied, whatever its credential.
func (t *Task) hasEnded() bool { return t.ended.Load() }
