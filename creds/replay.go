package creds

import (
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
// verify. It keeps ids as the ledger does (idKey, pointer-free) and shares
// its expiry heap, so memory is bounded by the number of live tokens, capped
// at capacity. Two different ids that hash to one key (for ids that are not
// ours: a 2^-128 chance) count as a replay, which fails closed.
type replayCache struct {
	mu       sync.Mutex
	capacity int
	seen     map[idKey]struct{}
	queue    forgetQueue
}

func newReplayCache(capacity int) *replayCache {
	return &replayCache{capacity: capacity, seen: make(map[idKey]struct{})}
}

// use records id, valid until forgetAt; it fails with ErrReplayed if id was
// already recorded and has not been forgotten.
func (r *replayCache) use(id string, forgetAt, now time.Time) error {
	k := keyOf(id)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queue.popUntil(now, func(old idKey) { delete(r.seen, old) })
	if _, ok := r.seen[k]; ok {
		return fmt.Errorf("creds: verify: id %s: %w", id, ErrReplayed)
	}
	if len(r.seen) >= r.capacity {
		return fmt.Errorf("creds: verify: %d live ids: %w", len(r.seen), errReplayFull)
	}
	r.seen[k] = struct{}{}
	r.queue.push(forgetItem{at: nanos(forgetAt), key: k})
	return nil
}

func (r *replayCache) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}
