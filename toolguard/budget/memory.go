package budget

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// Memory is a Store in process: budgets hold for the guards of one
// process. Use a shared store (package redisbudget) for an agent that runs
// as several replicas. It is safe for concurrent use.
type Memory struct {
	now     func() time.Time
	max     int
	mu      sync.Mutex
	entries int
	budgets map[scopeTool]map[string]*series // by metric
}

type scopeTool struct{ scope, tool string }

// series is one budget's entries in their window.
type series struct {
	window  time.Duration
	entries []entry // oldest first
}

type entry struct {
	at     time.Time
	amount float64
	id     string // the reservation's id (sums) or the member (destinations)
}

// MemoryOption configures a Memory store.
type MemoryOption interface{ apply(*Memory) }

type memoryOption func(*Memory)

func (o memoryOption) apply(m *Memory) { o(m) }

// WithClock sets the store's clock (default time.Now).
func WithClock(now func() time.Time) MemoryOption {
	return memoryOption(func(m *Memory) {
		if now != nil {
			m.now = now
		}
	})
}

// WithMaxEntries bounds the entries the store holds in all its windows
// (default 1,000,000). A reservation that would pass the bound is refused
// with ErrFull: a budget that cannot count must not allow.
func WithMaxEntries(n int) MemoryOption {
	return memoryOption(func(m *Memory) {
		if n > 0 {
			m.max = n
		}
	})
}

// ErrFull is a reservation refused because the store holds as many entries
// as it may.
var ErrFull = errors.New("budget: the store is full")

// NewMemory returns an empty in-process store.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{now: time.Now, max: 1_000_000, budgets: map[scopeTool]map[string]*series{}}
	for _, o := range opts {
		if o != nil {
			o.apply(m)
		}
	}
	return m
}

func (m *Memory) get(st scopeTool, metric string) *series { return m.budgets[st][metric] }

// sweep prunes every budget and forgets the empty ones, so scopes no call
// touches any more (ended tasks) do not hold the store's room.
func (m *Memory) sweep(now time.Time) {
	for st, metrics := range m.budgets {
		for metric, s := range metrics {
			m.prune(s, now)
			if len(s.entries) == 0 {
				delete(metrics, metric)
			}
		}
		if len(metrics) == 0 {
			delete(m.budgets, st)
		}
	}
}

// prune drops the entries of s older than its window.
func (m *Memory) prune(s *series, now time.Time) {
	cut := 0
	for cut < len(s.entries) && !s.entries[cut].at.After(now.Add(-s.window)) {
		cut++
	}
	if cut > 0 {
		s.entries = append(s.entries[:0], s.entries[cut:]...)
		m.entries -= cut
	}
}

func (s *series) used(distinct bool) float64 {
	if distinct {
		return float64(len(s.entries))
	}
	var sum float64
	for _, e := range s.entries {
		sum += e.amount
	}
	return sum
}

func (s *series) has(member string) int {
	for i, e := range s.entries {
		if e.id == member {
			return i
		}
	}
	return -1
}

// Reserve implements Store.
func (m *Memory) Reserve(ctx context.Context, reqs []Request) (*Reservation, error) {
	reqs, err := Merged(reqs)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id := NewID()
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	// First judge every request, counting what earlier requests of this
	// reservation would add; then take them all.
	adds := map[Request]float64{} // by budget (Scope, Tool, Metric only)
	newEntries := 0
	for _, r := range reqs {
		k := Request{Scope: r.Scope, Tool: r.Tool, Metric: r.Metric}
		s := m.get(scopeTool{r.Scope, r.Tool}, r.Metric)
		used := adds[k]
		if s != nil {
			s.window = r.Window // the window the budget has now
			m.prune(s, now)
			used += s.used(r.distinct())
		}
		add := r.Amount
		if r.distinct() {
			if s != nil && s.has(r.Member) >= 0 {
				continue // already counted in the window
			}
			add = 1
		}
		if used+add > r.Limit {
			return nil, &ExceededError{Scope: r.Scope, Tool: r.Tool, Metric: r.Metric, Used: used, Limit: r.Limit}
		}
		adds[k] += add
		newEntries++
	}
	if m.entries+newEntries > m.max {
		m.sweep(now)
		if m.entries+newEntries > m.max {
			return nil, ErrFull
		}
	}
	res := &Reservation{ID: id}
	for _, r := range reqs {
		st := scopeTool{r.Scope, r.Tool}
		s := m.get(st, r.Metric)
		if s == nil {
			if m.budgets[st] == nil {
				m.budgets[st] = map[string]*series{}
			}
			s = &series{window: r.Window}
			m.budgets[st][r.Metric] = s
		}
		e := entry{at: now, amount: r.Amount, id: id}
		if r.distinct() {
			if i := s.has(r.Member); i >= 0 {
				// Reached again: counted once, from when it was last reached.
				s.entries = append(append(s.entries[:i], s.entries[i+1:]...), entry{at: now, id: r.Member})
				continue
			}
			e = entry{at: now, id: r.Member}
		}
		s.entries = append(s.entries, e)
		m.entries++
		res.Items = append(res.Items, Item{Scope: r.Scope, Tool: r.Tool, Metric: r.Metric, Entry: e.id})
	}
	return res, nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, r *Reservation) error {
	if r == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, it := range r.Items {
		s := m.get(scopeTool{it.Scope, it.Tool}, it.Metric)
		if s == nil {
			continue
		}
		for i, e := range s.entries {
			if e.id == it.Entry {
				s.entries = append(s.entries[:i], s.entries[i+1:]...)
				m.entries--
				break
			}
		}
	}
	r.Items = nil
	return nil
}

// Usage implements Store.
func (m *Memory) Usage(_ context.Context, scope, tool string) (map[string]float64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var out map[string]float64
	for metric, s := range m.budgets[scopeTool{scope, tool}] {
		m.prune(s, now)
		if out == nil {
			out = map[string]float64{}
		}
		out[metric] = s.used(metric == MetricDestinations)
	}
	return out, nil
}

// NewID names a reservation: unique, not secret.
func NewID() string { return strconv.FormatUint(rand.Uint64(), 36) }
