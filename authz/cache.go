package authz

import (
	"crypto/sha256"
	"encoding/binary"
	"hash/maphash"
	"maps"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// WithDecisionCache lets the engine reuse a decision for a later call with
// the same input, up to size entries (rounded up to a power of two; 0 turns
// the cache off, the default). It is safe by construction:
//
//   - only a decision the policy marks cacheable is kept: the decision
//     document's cache.ttl_seconds > 0, an allow, no approval required, no
//     evaluation error. Approvals are never served from the cache;
//   - the key is an encoding of the whole input except the fields the policy
//     provably never reads (see below) and input.time, compared byte for
//     byte on a hit. An entry keeps it, besides the decision: up to 1 KiB
//     (a longer encoding is kept as its SHA-256). A different subject,
//     principal, delegation chain, task, tool, argument, destination or taint
//     label is a different key;
//   - entries belong to one policy revision: a reload, bundle or directory
//     change starts from an empty cache;
//   - an entry serves only calls whose input.time lies in [the time it was
//     decided, min(that time + the TTL, input.task.expires_at)), and only
//     until the TTL passes on the engine's clock (WithClock), whichever is
//     first. Time is
//     kept out of the key (it changes on every call) on this contract: a
//     policy that marks a decision cacheable for N seconds promises its
//     time-dependent rules do not flip within N seconds, except at task
//     expiry, which the cache enforces itself;
//   - input.call.id and input.task.calls_used (the budget) are left out of
//     the key only when a static scan of the policy modules proves no rule
//     can read them (any read of input, input.task or input.call as a whole,
//     or through a computed key, counts as a read). Otherwise they are part
//     of the key, and a budget rule sees every call;
//   - credentials are not decisions: the guard issues (or reuses, when the
//     policy says credential.reuse = "task") a credential after every
//     decision, cached or not; the identity is checked on every call before
//     the decision.
//
// A decision is stored the second time its key misses, not the first: most
// tool calls are one-offs (their arguments differ), and an entry for each
// would only cost memory and push out the entries that repeat. A repeated
// call is therefore evaluated twice before the cache serves it.
//
// While a shadow policy is loaded or decision logs are on, every call is
// evaluated, so that both see each decision. Reads are lock-free; a new
// entry overwrites whatever was in its slot.
func WithDecisionCache(size int) Option {
	return optionFunc(func(c *config) { c.cacheSize = size })
}

// maxCacheSize bounds WithDecisionCache: past a million slots the cache is
// a memory leak, not a speed-up.
const maxCacheSize = 1 << 20

// decisionCache is a direct-mapped table of decisions of one revision. A slot
// is one atomic pointer; a collision overwrites, which only costs a miss.
type decisionCache struct {
	slots []atomic.Pointer[cacheEntry]
	// seen is the admission filter: a fingerprint of the last key that
	// missed in each slot. A decision is stored only for a key seen there
	// before, so a stream of one-off inputs (the usual case: arguments
	// differ from call to call) never fills the cache with entries nobody
	// asks for again, nor evicts the ones that are. Pointer-free, so the
	// garbage collector does not scan it.
	seen []atomic.Uint64
	mask uint64
	seed maphash.Seed // the slot hash: random, so no caller can aim inputs at one slot
	// Which fields the policy may read: if it may, they are part of the key.
	keyCallID, keyCallsUsed bool
	// now is the engine's clock: an entry serves until its TTL has passed
	// on it, whatever input.time callers send.
	now func() time.Time
}

type cacheEntry struct {
	key   string    // the key's bytes (cacheKey.b)
	from  time.Time // input.time of the evaluation
	until time.Time // input.time bound: from + TTL, or task expiry if earlier
	wall  time.Time // engine-clock bound: when the entry was stored + TTL
	d     Decision
}

func newDecisionCache(size int, reads policyReads, now func() time.Time) *decisionCache {
	if size <= 0 {
		return nil
	}
	n := 1 << bits.Len(uint(min(size, maxCacheSize)-1))
	return &decisionCache{
		slots:        make([]atomic.Pointer[cacheEntry], n),
		seen:         make([]atomic.Uint64, n),
		mask:         uint64(n - 1),
		seed:         maphash.MakeSeed(),
		keyCallID:    reads.callID,
		keyCallsUsed: reads.callsUsed,
		now:          now,
	}
}

// cacheKey is an input as the cache knows it: b, its encoding (or the
// SHA-256 of an encoding longer than maxInlineKey), and h, a hash of b that
// picks the slot. An entry matches only when its key equals b byte for
// byte, so no two inputs can share an entry, however the hash collides; a
// lookup needs no cryptographic hash, and copies b only to store it.
type cacheKey struct {
	b []byte
	h uint64
}

// maxInlineKey bounds the bytes an entry keeps of its key: past it (a large
// argument) the key is the encoding's SHA-256, shorter than most inputs.
const maxInlineKey = 1 << 10

// A key's first byte says what follows; the two forms never meet.
const (
	keyInline = 0 // the encoding
	keyDigest = 1 // the encoding's SHA-256
)

// maxPoolKey is the largest key buffer kept for reuse.
const maxPoolKey = 64 << 10

var keyBufs = sync.Pool{New: func() any { return &cacheKey{b: make([]byte, 0, maxInlineKey)} }}

// key encodes every input field that goes into the key, each length-prefixed
// (uvarint) so that no two different inputs encode to the same bytes. A
// field added to Input must be added here: TestCacheKeyCoversEveryField
// fails until it is. The caller gives the key back with release once done.
func (c *decisionCache) key(in *Input) *cacheKey {
	k := keyBufs.Get().(*cacheKey)
	b := append(k.b[:0], keyInline)
	b = appendStr(b, in.Subject.SPIFFEID)
	b = appendStr(b, in.Subject.TrustDomain)
	b = appendStr(b, in.Principal.User)
	b = appendStrs(b, in.Principal.Chain)
	b = appendStr(b, in.Task.ID)
	b = appendStr(b, in.Task.Purpose)
	b = appendStrs(b, in.Task.Scopes)
	if in.Task.ExpiresAt != nil {
		b = append(b, 1)
		b = appendTime(b, *in.Task.ExpiresAt)
	} else {
		b = append(b, 0)
	}
	if c.keyCallsUsed {
		b = binary.AppendUvarint(b, uint64(in.Task.CallsUsed))
	}
	b = appendStr(b, in.Tool.Name)
	b = appendStr(b, in.Tool.Effect)
	b = appendStr(b, in.Tool.Risk)
	if c.keyCallID {
		b = appendStr(b, in.Call.ID)
	}
	b = appendStr(b, in.Call.Args)
	b = appendStr(b, in.Call.ArgsDigest)
	b = binary.AppendUvarint(b, uint64(len(in.Call.Destinations)))
	for _, d := range in.Call.Destinations {
		b = appendStr(b, d.Kind)
		b = appendStr(b, d.Type)
		b = appendStr(b, d.Scheme)
		b = appendStr(b, d.Host)
		b = binary.AppendUvarint(b, uint64(d.Port))
		b = appendStr(b, d.Path)
		b = appendStr(b, d.Address)
		b = appendBool(b, d.Flagged)
	}
	b = appendStr(b, in.Context.ConversationID)
	b = appendStrs(b, in.Context.Taint)
	b = appendBool(b, in.Context.TracksProvenance)
	b = appendBool(b, in.Context.ProvenanceOverflow)
	b = appendProvenance(b, in.Provenance)
	b = appendUsage(b, in.Usage)
	b = appendBool(b, in.Peer != nil)
	if in.Peer != nil {
		b = appendStr(b, in.Peer.ID)
		b = appendStrs(b, in.Peer.Chain)
		b = appendStrs(b, in.Peer.Taint)
	}
	if len(b) > maxInlineKey {
		sum := sha256.Sum256(b)
		b = append(append(b[:0], keyDigest), sum[:]...)
	}
	k.b, k.h = b, maphash.Bytes(c.seed, b)
	return k
}

// release gives k back for another lookup; k is not used after.
func (k *cacheKey) release() {
	if cap(k.b) <= maxPoolKey { // do not keep one huge argument's buffer alive
		keyBufs.Put(k)
	}
}

// appendStr takes bytes too, so that argument bytes are not converted (and
// copied) to a string first.
func appendStr[S ~string | ~[]byte](b []byte, s S) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendTime appends t as the policy sees it (timeTerm): in its own zone,
// so the same instant in two zones, two different documents to the policy,
// are two keys.
func appendTime(b []byte, t time.Time) []byte {
	var buf [64]byte
	return appendStr(b, t.AppendFormat(buf[:0], inputTimeLayout))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendStrs(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

func (c *decisionCache) slot(k *cacheKey) *atomic.Pointer[cacheEntry] {
	return &c.slots[k.h&c.mask]
}

// admit reports whether k was seen in its slot's admission filter before,
// and notes it there otherwise. The fingerprint is the key's whole hash; a
// false match (two keys of one slot with the same 64-bit hash) only admits
// an entry early.
func (c *decisionCache) admit(k *cacheKey) bool {
	f := &c.seen[k.h&c.mask]
	fp := k.h | 1 // never 0, the empty slot
	if f.Load() == fp {
		return true
	}
	f.Store(fp)
	return false
}

// get returns a copy of the decision stored for k, if it still serves a call
// made at input time at.
func (c *decisionCache) get(k *cacheKey, at time.Time) (Decision, bool) {
	slot := c.slot(k)
	e := slot.Load()
	if e == nil || e.key != string(k.b) {
		return Decision{}, false
	}
	if !c.now().Before(e.wall) {
		slot.CompareAndSwap(e, nil) // dead for every call: free it now
		return Decision{}, false
	}
	if at.Before(e.from) || !at.Before(e.until) {
		return Decision{}, false
	}
	// Callers own the decision they get: share no slice with the entry.
	d := detached(e.d)
	d.Cached = true
	return d, true
}

// detached is d sharing no slice with anything: what goes into the cache
// and what comes out of it, so no caller can change an entry. The string
// lists are copied into one new array, each capped at its length so that
// an append to one cannot write into the next. A nil list stays nil.
func detached(d Decision) Decision {
	d.Reasons = slices.Clone(d.Reasons)
	lists := [...]*[]string{&d.Credential.Scopes, &d.Egress.Hosts, &d.Redact}
	n := 0
	for _, l := range lists {
		n += len(*l)
	}
	all := make([]string, 0, n)
	for _, l := range lists {
		start := len(all)
		if *l != nil {
			all = append(all, *l...)
			*l = all[start:len(all):len(all)]
		}
	}
	return d
}

// cacheable is the engine's half of "the policy marks it cacheable": the
// policy can ask, but approvals, denials and decisions that use budgets
// (each use must be reserved) are never kept. (No cache is in
// use while a shadow policy or decision logs are on: Engine.cacheOf.)
func cacheable(d *Decision) bool {
	return d.CacheTTL > 0 && d.Allow && !d.Approval.Required && len(d.Budgets) == 0
}

// put stores d for k, decided for in.
func (c *decisionCache) put(k *cacheKey, in *Input, d *Decision) {
	if !cacheable(d) {
		return
	}
	until := in.Time.Add(d.CacheTTL)
	if exp := in.Task.ExpiresAt; exp != nil && exp.Before(until) {
		until = *exp
	}
	if !in.Time.Before(until) || !c.admit(k) {
		return
	}
	c.slot(k).Store(&cacheEntry{key: string(k.b), from: in.Time, until: until, wall: c.now().Add(d.CacheTTL), d: detached(*d)})
}

// appendProvenance appends p in the order of its paths.
func appendProvenance(b []byte, p map[string]Origin) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	if len(p) == 0 {
		return b // no sorted copy of no keys: this runs on every lookup
	}
	for _, path := range slices.Sorted(maps.Keys(p)) {
		o := p[path]
		b = appendStr(b, path)
		b = appendBool(appendBool(b, o.Trusted), o.Untrusted)
		b = appendStrs(b, o.Sources)
	}
	return b
}

// appendUsage appends u (nil and empty apart) in the order of its scopes,
// tools and arguments.
func appendUsage(b []byte, u *Usage) []byte {
	if u == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	for _, scope := range [...]map[string]ToolUsage{u.Agent, u.Task} {
		b = binary.AppendUvarint(b, uint64(len(scope)))
		if len(scope) == 0 {
			continue
		}
		for _, tool := range slices.Sorted(maps.Keys(scope)) {
			tu := scope[tool]
			b = appendStr(b, tool)
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(tu.Calls))
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(tu.Destinations))
			b = binary.AppendUvarint(b, uint64(len(tu.Sum)))
			for _, arg := range slices.Sorted(maps.Keys(tu.Sum)) {
				b = binary.BigEndian.AppendUint64(appendStr(b, arg), math.Float64bits(tu.Sum[arg]))
			}
		}
	}
	return b
}
