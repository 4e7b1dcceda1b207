package toolguard

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ztagent/ztagent/creds"
)

// CodeTaskEnded denies calls made under a task after Task.End.
const CodeTaskEnded = "task_ended"

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
}

// End ends the task: every credential its calls shared is revoked (retried
// in the background if the issuer fails), and later calls under the task are
// denied with CodeTaskEnded. Idempotent.
func (t *Task) End(ctx context.Context) error {
	t.mu.Lock()
	if t.ended {
		t.mu.Unlock()
		return nil
	}
	t.ended = true
	var all []*sharedCred
	for _, sc := range t.shared {
		all = append(all, sc)
	}
	t.mu.Unlock()
	var errs error
	for _, sc := range all {
		sc.g.shared.Delete(sc)
		t.mu.Lock()
		list := append(sc.retired, sc.cur.Load())
		sc.retired = nil
		t.mu.Unlock()
		for _, c := range list {
			if c != nil && c.ExpiresAt.After(sc.g.now()) {
				errs = errors.Join(errs, sc.g.revoker.revoke(ctx, c))
			}
		}
	}
	return errs
}

func (t *Task) isEnded() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ended
}

func sharedKey(r creds.Request) string {
	return r.Subject + "\x00" + r.Audience + "\x00" + strings.Join(r.Scopes, " ") + "\x00" + strings.Join(r.Delegation, " ")
}

// sharedCredential returns a live shared credential of the task for r,
// issuing one only when there is none (or it died): refreshes happen in the
// background, not here.
//
// minted says this call issued the credential (none was current).
func (g *Guard) sharedCredential(ctx context.Context, t *Task, r creds.Request) (c *creds.Credential, minted bool, err error) {
	key := sharedKey(r)
	t.mu.Lock()
	if t.ended {
		t.mu.Unlock()
		return nil, false, errTaskEnded
	}
	if t.shared == nil {
		t.shared = map[string]*sharedCred{}
	}
	sc := t.shared[key]
	if sc == nil {
		sc = &sharedCred{g: g, req: r, task: t}
		t.shared[key] = sc
		g.shared.Store(sc, struct{}{})
	}
	t.mu.Unlock()
	if c := sc.cur.Load(); c != nil && g.now().Add(time.Second).Before(c.ExpiresAt) {
		return c, false, nil
	}
	if c, err = g.issuer.Issue(ctx, r); err != nil {
		return nil, false, err
	}
	sc.swap(c)
	return c, true, nil
}

var errTaskEnded = errors.New("the task has ended")

// swap makes c current and keeps the one it replaces for revocation at the
// end of the task (calls may still be using it).
func (sc *sharedCred) swap(c *creds.Credential) {
	old := sc.cur.Swap(c)
	if old != nil {
		sc.task.mu.Lock()
		sc.retired = append(sc.retired, old)
		sc.task.mu.Unlock()
	}
}

// refreshShared renews, off the hot path, every shared credential past half
// of its lifetime.
func (g *Guard) refreshShared(ctx context.Context, wg *sync.WaitGroup) {
	defer wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := g.now()
		g.shared.Range(func(k, _ any) bool {
			sc := k.(*sharedCred)
			c := sc.cur.Load()
			if c == nil || sc.task.isEnded() || now.Before(c.IssuedAt.Add(c.TTL()/2)) {
				return true
			}
			fresh, err := g.issuer.Issue(ctx, sc.req)
			if err != nil {
				g.stats.refreshFailures.Add(1) // the current one serves until it expires
				return true
			}
			g.stats.refreshes.Add(1)
			sc.swap(fresh)
			return true
		})
	}
}
