package creds

import (
	"container/heap"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrReplayed: the token's jti was already accepted once by this verifier
// (or middleware). A bearer token used twice means it was copied.
var ErrReplayed = errors.New("creds: token replayed")

// errReplayFull is not a verdict on the token: the cache cannot take another
// id without forgetting a live one, so the request fails closed.
var errReplayFull = errors.New("creds: replay cache full")

const defaultReplayCapacity = 100_000

// replayCache remembers accepted jtis until their tokens can no longer
// verify. It shares the ledger's expiry heap, so memory is bounded by the
// number of live tokens, capped at capacity.
type replayCache struct {
	mu       sync.Mutex
	capacity int
	seen     map[string]*ledgerEntry
	queue    forgetQueue
}

func newReplayCache(capacity int) *replayCache {
	return &replayCache{capacity: capacity, seen: make(map[string]*ledgerEntry)}
}

// use records id, valid until forgetAt; it fails with ErrReplayed if id was
// already recorded and has not been forgotten.
func (r *replayCache) use(id string, forgetAt, now time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.queue) > 0 && !now.Before(r.queue[0].forgetAt) {
		e := heap.Pop(&r.queue).(*ledgerEntry)
		delete(r.seen, e.id)
	}
	if _, ok := r.seen[id]; ok {
		return fmt.Errorf("creds: verify: id %s: %w", id, ErrReplayed)
	}
	if len(r.seen) >= r.capacity {
		return fmt.Errorf("creds: verify: %d live ids: %w", len(r.seen), errReplayFull)
	}
	e := &ledgerEntry{id: id, forgetAt: forgetAt}
	r.seen[id] = e
	heap.Push(&r.queue, e)
	return nil
}

func (r *replayCache) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}
