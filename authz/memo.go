package authz

import (
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// ruleMemo carries, from one evaluation to the next, the values of the rules
// whose value is fixed for a given agent and tool (memoizableRules): the
// agent's grants, the tool's scopes, the sets of known kinds... Within one
// evaluation OPA caches every rule's value in a virtual cache; ruleMemo
// starts an evaluation with those rules' values already in that cache, so
// only what depends on the call itself (arguments, destinations, task,
// context, time) is evaluated again.
//
// It is safe by construction: a value is only ever one that OPA computed, in
// an evaluation that succeeded, for the same subject and tool under the same
// compiled revision (a new policy or data is a new compiled, with an empty
// memo), for a rule that reads nothing else. Seeds go into the cache's base
// frame only, so a `with` (which evaluates in a fresh frame) never sees them.
// The decision is therefore the one OPA alone would make; tests compare the
// two on every input they have.
type ruleMemo struct {
	paths []ast.Ref
	// byName indexes paths by their last key, so matching a cache write
	// against paths costs a map lookup.
	byName map[string][]int

	mu    sync.RWMutex
	seeds map[memoKey]*memoSeed
}

// memoKey is everything a memoized rule may read from the input.
type memoKey struct {
	subject Subject
	tool    Tool
}

// memoSeed is an immutable set of rule values, both slices indexed like
// ruleMemo.paths; a new one replaces it.
type memoSeed struct {
	vals []*ast.Term // nil: the rule is undefined
	has  []bool      // whether vals[i] is known
}

// memoMaxKeys bounds the memory one revision's memo may take: past it the
// memo starts over (a few evaluations relearn what is in use).
const memoMaxKeys = 4096

func newRuleMemo(modules map[string]*ast.Module) *ruleMemo {
	paths := memoizableRules(modules)
	if len(paths) == 0 {
		return nil
	}
	m := &ruleMemo{paths: paths, byName: map[string][]int{}, seeds: map[memoKey]*memoSeed{}}
	for i, p := range paths {
		if s, ok := p[len(p)-1].Value.(ast.String); ok {
			m.byName[string(s)] = append(m.byName[string(s)], i)
		}
	}
	return m
}

// cache returns the virtual cache for one evaluation for k: seeded with what
// is known, and noting what this evaluation computes.
func (m *ruleMemo) cache(k memoKey) *memoCache {
	m.mu.RLock()
	seed := m.seeds[k]
	m.mu.RUnlock()
	vc := &memoCache{VirtualCache: topdown.NewVirtualCache(), memo: m, seed: seed}
	if seed != nil {
		for i, known := range seed.has {
			if known {
				vc.VirtualCache.Put(m.paths[i], seed.vals[i])
			}
		}
	}
	return vc
}

// learn keeps what a successful evaluation computed that the seed lacked.
func (m *ruleMemo) learn(k memoKey, c *memoCache) {
	if len(c.found) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Merge onto the seed as it is now: another evaluation may have learnt
	// in the meantime.
	old := m.seeds[k]
	next := &memoSeed{vals: make([]*ast.Term, len(m.paths)), has: make([]bool, len(m.paths))}
	if old != nil {
		copy(next.vals, old.vals)
		copy(next.has, old.has)
	}
	added := 0
	for _, f := range c.found {
		if next.has[f.index] {
			continue
		}
		next.has[f.index] = true
		next.vals[f.index] = f.val
		added++
	}
	if added == 0 {
		return
	}
	if old == nil && len(m.seeds) >= memoMaxKeys {
		clear(m.seeds)
	}
	m.seeds[k] = next
}

// index is the memoized path ref is, or -1.
func (m *ruleMemo) index(ref ast.Ref) int {
	s, ok := ref[len(ref)-1].Value.(ast.String)
	if !ok {
		return -1
	}
	for _, i := range m.byName[string(s)] {
		if m.paths[i].Equal(ref) {
			return i
		}
	}
	return -1
}

// memoCache is OPA's virtual cache with a note of the memoized rules'
// values written into its base frame.
type memoCache struct {
	topdown.VirtualCache
	memo  *ruleMemo
	seed  *memoSeed
	depth int // frames pushed by `with`
	found []memoFound
}

type memoFound struct {
	index int
	val   *ast.Term
}

func (c *memoCache) Push() { c.depth++; c.VirtualCache.Push() }
func (c *memoCache) Pop()  { c.depth--; c.VirtualCache.Pop() }

func (c *memoCache) Put(ref ast.Ref, value *ast.Term) {
	c.VirtualCache.Put(ref, value)
	if c.depth > 0 || len(ref) == 0 {
		return
	}
	if i := c.memo.index(ref); i >= 0 && (c.seed == nil || !c.seed.has[i]) {
		c.found = append(c.found, memoFound{index: i, val: value})
	}
}
