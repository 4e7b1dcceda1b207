package toolguard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/internal/loop"
)

// sharedCred is a credential that the calls of one task share, because the
// policy said so (credential.reuse = "task"). The guard refreshes it in the
// background before it expires; Task.End revokes it and every credential it
// replaced.
type sharedCred struct {
	g       *Guard
	req     creds.Request
	cur     atomic.Pointer[creds.Credential]
	retired []*creds.Credential // guarded by the task's mu
	task    *Task
	used    atomic.Int64 // when a call last took it, Unix nanoseconds of the guard's clock
}

// revokeAll stops the guard refreshing sc and revokes every credential of
// it that is still live (Task.End, Guard.Close). It takes them, so a second
// revokeAll (Guard.Close, then Task.End) revokes nothing twice.
func (sc *sharedCred) revokeAll(ctx context.Context) error {
	sc.g.shared.Delete(sc)
	sc.task.mu.Lock()
	list := append(sc.retired, sc.cur.Swap(nil))
	sc.retired = nil
	sc.task.mu.Unlock()
	var errs error
	for _, c := range list {
		if c != nil && c.ExpiresAt.After(sc.g.now()) {
			errs = errors.Join(errs, sc.g.revoker.revoke(ctx, c))
		}
	}
	return errs
}

// appendSharedKey writes what a task's shared credential is issued for:
// each part quoted, so no two requests write the same key (the scopes
// ["a b"] are not ["a", "b"], nor is a delegation chain). strconv quotes
// invalid UTF-8 byte for byte, where JSON makes every invalid byte U+FFFD
// ("u\xff" and "u\xfe" one key). The lifetime is part of it: a call whose
// decision grants 5 seconds must not be handed a credential issued for 300.
func appendSharedKey(b []byte, r creds.Request) []byte {
	b = strconv.AppendInt(b, int64(r.TTL), 10)
	b = strconv.AppendQuote(b, r.Subject)
	b = strconv.AppendQuote(b, r.Audience)
	for _, list := range [...][]string{r.Scopes, r.Delegation} {
		b = append(b, '[')
		for _, s := range list {
			b = append(strconv.AppendQuote(b, s), ',')
		}
		b = append(b, ']')
	}
	return b
}

// sharedCredential returns a live shared credential of the task for r,
// issuing one only when there is none (or it died): refreshes happen in the
// background, not here.
//
// minted says this call issued the credential (none was current).
func (g *Guard) sharedCredential(ctx context.Context, t *Task, r creds.Request) (c *creds.Credential, minted bool, err error) {
	var buf [256]byte
	key := appendSharedKey(buf[:0], r) // looked up without a string of its own
	t.mu.Lock()
	if t.ended.Load() {
		t.mu.Unlock()
		return nil, false, errTaskEnded
	}
	if t.shared == nil {
		t.shared = map[string]*sharedCred{}
	}
	sc := t.shared[string(key)]
	if sc == nil {
		sc = &sharedCred{g: g, req: r, task: t}
		t.shared[string(key)] = sc
		g.shared.Store(sc, struct{}{})
	}
	t.mu.Unlock()
	now := g.now()
	// Idleness is judged in lifetimes (at least seconds): a second's
	// resolution is plenty, and concurrent calls of a task then mostly
	// read the shared word instead of all writing it.
	if t := now.UnixNano(); t-sc.used.Load() > int64(time.Second) {
		sc.used.Store(t)
	}
	if c := sc.cur.Load(); c != nil && now.Add(time.Second).Before(c.ExpiresAt) {
		return c, false, nil
	}
	if c, err = g.issueChecked(ctx, r); err != nil {
		return nil, false, err
	}
	if !sc.swap(c) {
		_ = g.revoker.revoke(ctx, c) // the task ended while it was issued
		return nil, false, errTaskEnded
	}
	if g.sweepWake != nil {
		// A policy suspending the agent may have been loaded while this
		// call, decided under the one before, minted: sweep once more.
		g.wakeSuspensionSweep()
	}
	return c, true, nil
}

// issueChecked issues a credential for r and refuses one the issuer made to
// live longer than the guard's maximum, or already expired: such a
// credential must not exist, so it is revoked. Every credential the guard
// hands out, for a call or for a task, comes through here.
func (g *Guard) issueChecked(ctx context.Context, r creds.Request) (*creds.Credential, error) {
	c, err := g.issuer.Issue(ctx, r)
	if err == nil && c == nil {
		err = errors.New("issuer returned no credential")
	}
	if err != nil {
		return nil, fmt.Errorf("no credential could be issued: %w", err)
	}
	// Judged by the guard's clock too: an issuer whose IssuedAt lies in the
	// future would otherwise pass a credential living past the maximum.
	now := g.now()
	if c.TTL() > g.maxCredTTL+time.Second || c.ExpiresAt.Sub(now) > g.maxCredTTL+time.Second || !now.Before(c.ExpiresAt) {
		_ = g.revoker.revoke(ctx, c)
		return nil, fmt.Errorf("issuer returned a credential living %s, over the %s maximum or already expired", c.TTL(), g.maxCredTTL)
	}
	return c, nil
}

var errTaskEnded = errors.New("the task has ended")

// swap makes c current and keeps the one it replaces for revocation at the
// end of the task (calls may still be using it). It reports false, and
// changes nothing, once the task has ended: under the task's lock, so a
// credential is either seen by Task.End or refused here.
func (sc *sharedCred) swap(c *creds.Credential) bool {
	sc.task.mu.Lock()
	defer sc.task.mu.Unlock()
	if sc.task.ended.Load() {
		return false
	}
	// Calls may still hold the one replaced; it is revoked with the task.
	// Those that expired before c was issued need no revoking and go.
	sc.retired = slices.DeleteFunc(sc.retired, func(r *creds.Credential) bool { return !c.IssuedAt.Before(r.ExpiresAt) })
	if old := sc.cur.Swap(c); old != nil {
		sc.retired = append(sc.retired, old)
	}
	return true
}

// idle reports whether sc should be let expire rather than renewed: its task
// has expired (every call under it is denied), or no call took it for two
// lifetimes of its current credential c. A later call issues afresh.
func (sc *sharedCred) idle(now time.Time, c *creds.Credential) bool {
	if exp := sc.task.ExpiresAt; !exp.IsZero() && !now.Before(exp) {
		return true
	}
	return now.Sub(time.Unix(0, sc.used.Load())) > 2*c.TTL()
}

// sharedRefreshSweep is how often task credentials are looked at; whether
// one is due is judged on the guard's clock.
const sharedRefreshSweep = time.Second

// refreshShared renews, off the hot path, every shared credential in use
// past half of its lifetime, until ctx ends.
func (g *Guard) refreshShared(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	loop.Loop{Timers: g.timers}.Every(ctx, sharedRefreshSweep, g.refreshDue)
}

// refreshDue renews the shared credentials due now.
func (g *Guard) refreshDue(ctx context.Context) {
	now := g.now()
	g.shared.Range(func(k, _ any) bool {
		sc := k.(*sharedCred)
		c := sc.cur.Load()
		if c == nil || now.Before(c.IssuedAt.Add(c.TTL()/2)) || sc.idle(now, c) {
			return true
		}
		fresh, err := g.issueChecked(ctx, sc.req)
		if err != nil {
			g.stats.refreshFailures.Add(1) // the current one serves until it expires
			return true
		}
		if !sc.swap(fresh) {
			_ = g.revoker.revoke(ctx, fresh) // the task has ended
			return true
		}
		g.stats.refreshes.Add(1)
		return true
	})
}
