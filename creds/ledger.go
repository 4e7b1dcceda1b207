package creds

import (
	"crypto/sha256"
	"encoding/base64"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// ledger remembers every jti a Minter issued, and which were revoked, until
// the token can no longer be accepted anywhere (expiry plus the largest
// leeway a Verifier may allow). Forgetting earlier would let a revoked token
// pass a lenient verifier again; remembering longer only costs memory.
//
// A minter that signs a credential per call holds an entry for every call of
// the last TTL: hundreds of thousands at a few thousand calls per second.
// Entries therefore hold no pointers (idKey, int64 times), so the garbage
// collector never scans them. Revocations are few, and kept apart with their
// names, so that publishing the revocation list reads only them.
type ledger struct {
	mu      sync.RWMutex
	entries map[idKey]int64  // forgetAt, Unix nanoseconds
	revoked map[idKey]string // the revoked entries' ids; pruned with entries
	queue   forgetQueue
}

// idKey is an id as the ledger and the replay cache store it: the 16 bytes
// an id of our minter (22 characters of unpadded base64url) encodes, or, for
// any other id, the first 16 bytes of its SHA-256, marked hashed so the two
// kinds never meet.
type idKey struct {
	b      [16]byte
	hashed bool
}

var strictB64 = base64.RawURLEncoding.Strict()

func keyOf(id string) idKey {
	var k idKey
	if len(id) == strictB64.EncodedLen(len(k.b)) {
		var buf [16 + 2]byte // DecodedLen(22) rounds up
		if n, err := strictB64.Decode(buf[:], []byte(id)); err == nil && n == len(k.b) {
			copy(k.b[:], buf[:n])
			return k
		}
	}
	sum := sha256.Sum256([]byte(id))
	copy(k.b[:], sum[:])
	k.hashed = true
	return k
}

func newLedger() *ledger {
	return &ledger{entries: make(map[idKey]int64), revoked: make(map[idKey]string)}
}

// add records a new id, to be forgotten at forgetAt (its token's exp plus
// maxLeeway); it reports false if the id is already known (a
// 128-bit collision, which the caller treats as an error rather than
// silently sharing revocation state between two tokens).
func (l *ledger) add(id string, forgetAt, now time.Time) bool {
	k := keyOf(id)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	if _, ok := l.entries[k]; ok {
		return false
	}
	at := nanos(forgetAt)
	l.entries[k] = at
	l.queue.push(forgetItem{at: at, key: k})
	return true
}

// revoke marks id revoked; it reports false if the id is unknown.
func (l *ledger) revoke(id string, now time.Time) bool {
	k := keyOf(id)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked(now)
	_, ok := l.entries[k]
	if ok {
		l.revoked[k] = id
	}
	return ok
}

func (l *ledger) isRevoked(id string) bool {
	k := keyOf(id)
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok := l.revoked[k]
	return ok
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
	out := make([]revokedEntry, 0, len(l.revoked))
	t := nanos(now)
	for k, id := range l.revoked {
		if at := l.entries[k]; t < at {
			out = append(out, revokedEntry{ID: id, Exp: time.Unix(0, at).Add(-maxLeeway)})
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
	l.queue.popUntil(now, func(k idKey) {
		delete(l.entries, k)
		delete(l.revoked, k)
	})
}

// forgetQueue is a min-heap of ids on when to forget them; TTLs differ per
// request, so issue order is not expiry order. Pointer-free, like the ledger,
// and typed: container/heap would box every item in an interface.
type forgetQueue []forgetItem

type forgetItem struct {
	at  int64 // Unix nanoseconds
	key idKey
}

func (q *forgetQueue) push(it forgetItem) {
	s := append(*q, it)
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if s[p].at <= s[i].at {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
	*q = s
}

// popUntil removes the keys due at or before now, earliest first, and hands
// each to forget.
func (q *forgetQueue) popUntil(now time.Time, forget func(idKey)) {
	t := nanos(now)
	s := *q
	for len(s) > 0 && s[0].at <= t {
		k := s[0].key
		n := len(s) - 1
		s[0] = s[n]
		s = s[:n]
		for i := 0; ; {
			m := 2*i + 1
			if m >= n {
				break
			}
			if r := m + 1; r < n && s[r].at < s[m].at {
				m = r
			}
			if s[i].at <= s[m].at {
				break
			}
			s[i], s[m] = s[m], s[i]
			i = m
		}
		forget(k)
	}
	*q = s
}

// nanos is t in Unix nanoseconds, saturated at the ends of int64 (years
// 1678 and 2262): a token claiming to live until the year 9999 must be
// remembered for ever, not wrap around and be forgotten at once.
func nanos(t time.Time) int64 {
	switch {
	case t.After(maxNanos):
		return math.MaxInt64
	case t.Before(minNanos):
		return math.MinInt64
	}
	return t.UnixNano()
}

var (
	maxNanos = time.Unix(0, math.MaxInt64)
	minNanos = time.Unix(0, math.MinInt64)
)
