package authz

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ReloadEvent reports one attempt to replace the policy in force. On error
// the policy in force is unchanged: a broken change never stops the engine
// from deciding, and never makes it allow what the last good policy denied.
// Times are the engine's clock (WithClock).
type ReloadEvent struct {
	Time time.Time // when the attempt started
	// EffectiveAt is when Revision took effect, read right after the swap:
	// every decision that starts later is made under it. Zero on error.
	EffectiveAt time.Time
	Source      string // where the candidate came from
	Previous    string // revision in force before
	Revision    string // revision in force after (== Previous on error)
	Err         error
}

// Load compiles ps and, if it compiles (and passes lint, when argument
// schemas are set), makes it the policy in force. Decisions already running
// finish under the revision they started with.
func (e *Engine) Load(ctx context.Context, ps PolicySet) error {
	_, err := e.load(ctx, ps, &e.cur)
	return err
}

// LoadShadow compiles ps as a shadow policy: it is evaluated beside the
// policy in force on every decision, its verdict is reported in
// Decision.Shadow, and every flip is counted, but it never decides.
func (e *Engine) LoadShadow(ctx context.Context, ps PolicySet) error {
	_, err := e.load(ctx, ps, &e.shadow)
	return err
}

// ClearShadow stops evaluating the shadow policy.
func (e *Engine) ClearShadow() { e.shadow.Store(nil) }

func (e *Engine) load(ctx context.Context, ps PolicySet, slot *atomic.Pointer[compiled]) (*compiled, error) {
	if e == nil || e.settings.query == "" {
		return nil, errors.New("authz: engine not built by New")
	}
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	ev := ReloadEvent{Time: e.now(), Source: ps.Source}
	if old := slot.Load(); old != nil {
		ev.Previous, ev.Revision = old.revision, old.revision
	}
	c, err := e.settings.compile(ctx, ps, slot == &e.cur)
	if err != nil {
		ev.Err = fmt.Errorf("authz: load %s: %w", sourceName(ps.Source), err)
		return nil, e.reloadFailed(ev)
	}
	slot.Store(c)
	ev.EffectiveAt, ev.Revision = e.now(), c.revision
	e.stats.reloads.Add(1)
	e.report(ev)
	return c, nil
}

func (e *Engine) report(ev ReloadEvent) {
	if e.onReload != nil {
		e.onReload(ev)
	}
	e.watchers.report(ev)
}

func sourceName(s string) string {
	if s == "" {
		return "policy"
	}
	return s
}

// LastReloadError is the error of the last failed load, or nil.
func (e *Engine) LastReloadError() error {
	if e == nil {
		return nil
	}
	if p := e.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Stats counts what the engine did besides deciding; nothing fails
// silently.
type Stats struct {
	Reloads           uint64 // policies (or shadows) compiled and swapped in
	ReloadFailures    uint64 // candidates rejected; the last good policy kept serving
	ShadowAllowToDeny uint64 // the shadow would have denied what the policy allowed
	ShadowDenyToAllow uint64 // the shadow would have allowed what the policy denied
	ShadowErrors      uint64 // shadow evaluations that failed (counted as deny)
}

// reloadFailed counts and reports a policy change that was refused (the
// last good policy keeps deciding) and returns its error.
func (e *Engine) reloadFailed(ev ReloadEvent) error {
	e.stats.reloadFailures.Add(1)
	e.lastErr.Store(&ev.Err)
	e.report(ev)
	return ev.Err
}

type counters struct {
	reloads, reloadFailures, allowToDeny, denyToAllow, shadowErrors atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats {
	if e == nil {
		return Stats{}
	}
	return Stats{
		Reloads:           e.stats.reloads.Load(),
		ReloadFailures:    e.stats.reloadFailures.Load(),
		ShadowAllowToDeny: e.stats.allowToDeny.Load(),
		ShadowDenyToAllow: e.stats.denyToAllow.Load(),
		ShadowErrors:      e.stats.shadowErrors.Load(),
	}
}
