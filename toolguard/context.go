package toolguard

import (
	"context"
	"slices"
	"sync"
)

type ctxKey int

const (
	callKey ctxKey = iota
	runningKey
	principalKey
	taskKey
	taintKey
	provenanceKey
	peerKey
)

// WithCall returns a context that carries the id the model gave this tool
// call. The guard uses it to link the action to the model turn that proposed
// it (see audit.TurnRecorder.Proposed).
func WithCall(ctx context.Context, callID string) context.Context {
	return context.WithValue(ctx, callKey, callID)
}

func callID(ctx context.Context) string {
	id, _ := ctx.Value(callKey).(string)
	return id
}

// CallID is the id of the guarded call whose tool is running under ctx, as
// its span, decision record and credential name it: the id the model gave
// (WithCall), bounded, or the one the guard made up for a call that had
// none. Outside a guarded tool, ok is false.
func CallID(ctx context.Context) (id string, ok bool) {
	p, ok := ctx.Value(runningKey).(*string) // a pointer: boxing a string would allocate per call
	if !ok {
		return "", false
	}
	return *p, true
}

// runningCtx is the context a guarded tool runs under: its parent, and the
// call's id for CallID. It answers for runningKey itself rather than
// through context.WithValue so that, as a field of the call, it costs the
// hot path no allocation. The call is never reused, so a tool that keeps
// its context keeps its own call's id.
type runningCtx struct {
	context.Context
	id *string
}

func (r *runningCtx) Value(key any) any {
	if key == runningKey {
		return r.id
	}
	return r.Context.Value(key)
}

// Principal is on whose behalf the agent acts.
type Principal struct {
	// User is the human at the start of the chain, if any.
	User string
	// Chain lists the delegations in order, e.g. "user:alice@example.com",
	// "spiffe://example.org/agent/planner". The guard appends the agent's own
	// SPIFFE ID.
	Chain []string
}

// WithPrincipal returns a context whose calls are made on behalf of p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	p.Chain = slices.Clone(p.Chain)
	return context.WithValue(ctx, principalKey, p)
}

func principal(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey).(Principal)
	return p
}

// TaintSet records where untrusted content has entered a conversation, such
// as "untrusted:web". Policies use it to judge calls that untrusted content
// may have steered. It is safe for concurrent use.
type TaintSet struct {
	mu     sync.Mutex
	labels []string
}

// NewTaintSet returns a set holding labels.
func NewTaintSet(labels ...string) *TaintSet {
	s := &TaintSet{}
	s.Add(labels...)
	return s
}

// Add records labels; duplicates and empty labels are ignored.
func (s *TaintSet) Add(labels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range labels {
		if l != "" && !slices.Contains(s.labels, l) {
			s.labels = append(s.labels, l)
		}
	}
}

// Labels returns a sorted copy of the labels.
func (s *TaintSet) Labels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.labels)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// WithTaintSet returns a context whose calls are judged with the labels of s,
// and whose tools' OutputTaint is added to s after they run.
func WithTaintSet(ctx context.Context, s *TaintSet) context.Context {
	return context.WithValue(ctx, taintKey, s)
}

func taintSet(ctx context.Context) *TaintSet {
	s, _ := ctx.Value(taintKey).(*TaintSet)
	return s
}
