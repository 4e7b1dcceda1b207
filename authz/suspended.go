package authz

import (
	"slices"
	"sync"
)

// Suspended is what the policy in force suspends through the default
// policy's kill switch, data.suspended: agents by SPIFFE ID, tasks by id.
// The policy denies their calls (agent_suspended, task_suspended); a guard
// reads this after every reload to revoke the task credentials they hold,
// rather than waiting for their next call to be denied.
type Suspended struct {
	Agents []string
	Tasks  []string
}

// suspendedIn reads data.suspended the way suspend.rego does: lists of
// strings, anything else ignored.
func suspendedIn(data map[string]any) Suspended {
	doc, _ := data["suspended"].(map[string]any)
	return Suspended{Agents: stringsIn(doc["agents"]), Tasks: stringsIn(doc["tasks"])}
}

func stringsIn(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Suspended returns what the policy in force suspends (data.suspended),
// empty before a policy is loaded. The slices are the caller's.
func (e *Engine) Suspended() Suspended {
	if e == nil {
		return Suspended{}
	}
	c := e.cur.Load()
	if c == nil {
		return Suspended{}
	}
	return Suspended{Agents: slices.Clone(c.suspended.Agents), Tasks: slices.Clone(c.suspended.Tasks)}
}

// watchers are the functions Watch added, called after every reload
// attempt as the WithReloadHook hook is.
type watchers struct {
	mu   sync.Mutex
	next uint64
	fs   map[uint64]func(ReloadEvent)
}

// Watch calls f after every reload attempt, as the WithReloadHook hook is,
// until stop is called. Unlike the hook it can be added once the engine is
// running, by whoever holds it (a guard watches for suspensions). f runs
// on the goroutine that loads the policy, while no other load can start:
// it must return quickly and must not call Load.
func (e *Engine) Watch(f func(ReloadEvent)) (stop func()) {
	if e == nil || f == nil {
		return func() {}
	}
	w := &e.watchers
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fs == nil {
		w.fs = map[uint64]func(ReloadEvent){}
	}
	id := w.next
	w.next++
	w.fs[id] = f
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.fs, id)
	}
}

func (w *watchers) report(ev ReloadEvent) {
	w.mu.Lock()
	fs := make([]func(ReloadEvent), 0, len(w.fs))
	for _, f := range w.fs {
		fs = append(fs, f)
	}
	w.mu.Unlock()
	for _, f := range fs {
		f(ev)
	}
}
