package creds

import (
	"container/heap"
	"slices"
	"strings"
	"sync"
	"time"
)

// ledger remembers every jti a Minter issued, and which were revoked, until
// the token can no longer be accepted anywhere (expiry plus the largest
// leeway a Verifier may allow). Forgetting earlier would let a revoked token
// pass a lenient verifier again; remembering longer only costs memory.
type ledger struct {
	mu      sync.RWMutex
	entries map[string]*ledgerEntry
	queue   forgetQueue
}

type ledgerEntry struct {
	id       string
	exp      time.Time
	forgetAt time.Time
	revoked  bool
}

func newLedger() *ledger {
	return &ledger{entries: make(map[string]*ledgerEntry)}
}

// add records a new id, to be forgotten at forgetAt (its token's exp plus
// maxLeeway); it reports false if the id is already known (a
// 128-bit collision, which the caller treats as an error rather than
// silently sharing revocation state between two tokens).
func (l *ledger) add(id string, forgetAt, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	if _, ok := l.entries[id]; ok {
		return false
	}
	e := &ledgerEntry{id: id, exp: forgetAt.Add(-maxLeeway), forgetAt: forgetAt}
	l.entries[id] = e
	heap.Push(&l.queue, e)
	return true
}

// revoke marks id revoked; it reports false if the id is unknown.
func (l *ledger) revoke(id string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	e, ok := l.entries[id]
	if ok {
		e.revoked = true
	}
	return ok
}

func (l *ledger) revoked(id string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	e, ok := l.entries[id]
	return ok && e.revoked
}

// revokedEntry is one line of a published revocation list.
type revokedEntry struct {
	ID  string
	Exp time.Time
}

// revokedList returns the revoked ids whose tokens some verifier could still
// accept (now before exp plus the largest leeway), oldest expiry first.
func (l *ledger) revokedList(now time.Time) []revokedEntry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]revokedEntry, 0)
	for _, e := range l.entries {
		if e.revoked && now.Before(e.forgetAt) {
			out = append(out, revokedEntry{ID: e.id, Exp: e.exp})
		}
	}
	slices.SortFunc(out, func(a, b revokedEntry) int {
		if c := a.Exp.Compare(b.Exp); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func (l *ledger) len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.entries)
}

// pruneLocked drops entries whose tokens can no longer verify. It is amortized
// over add/revoke so the minter needs no background goroutine.
func (l *ledger) pruneLocked(now time.Time) {
	for len(l.queue) > 0 && !now.Before(l.queue[0].forgetAt) {
		e := heap.Pop(&l.queue).(*ledgerEntry)
		delete(l.entries, e.id)
	}
}

// forgetQueue is a min-heap on forgetAt; TTLs differ per request, so issue
// order is not expiry order.
type forgetQueue []*ledgerEntry

func (q forgetQueue) Len() int           { return len(q) }
func (q forgetQueue) Less(i, j int) bool { return q[i].forgetAt.Before(q[j].forgetAt) }
func (q forgetQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *forgetQueue) Push(x any)        { *q = append(*q, x.(*ledgerEntry)) }
func (q *forgetQueue) Pop() any {
	old := *q
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*q = old[:n-1]
	return e
}
