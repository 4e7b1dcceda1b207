package authz

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/ztagent/ztagent/internal/loop"
)

// Decider is the seam the guard consumes: one decision per tool call.
// Implementations fail closed: any error comes with a denying Decision.
type Decider interface {
	Decide(ctx context.Context, in *Input) (Decision, error)
}

var _ Decider = (*Engine)(nil)

// Engine evaluates a prepared Rego query. It is safe for concurrent use and
// Decide does no compilation: a new policy (Load, a directory change, a
// bundle) is compiled off the hot path and swapped in atomically, and each
// decision is made, and attributed, under exactly one revision.
//
// The zero Engine denies every call with CodeNotReady.
type Engine struct {
	cur    atomic.Pointer[compiled]
	shadow atomic.Pointer[compiled]

	settings settings
	timeout  time.Duration
	terms    termCache
	stats    counters
	lastErr  atomic.Pointer[error]
	onReload func(ReloadEvent)
	watchers watchers
	dlog     *opaDecisionLogger // nil: decision logs off

	loadMu    sync.Mutex       // serializes compiles; Decide never takes it
	now       func() time.Time // WithClock
	timers    loop.Timers      // what the background loops wait on; nil: real time
	cancel    context.CancelFunc
	bg        sync.WaitGroup
	closeOnce sync.Once
}

// Revision is the revision of the policy in force ("" before one is loaded).
func (e *Engine) Revision() string {
	if c := e.current(); c != nil {
		return c.revision
	}
	return ""
}

// PolicyID is the query the engine evaluates.
func (e *Engine) PolicyID() string {
	if c := e.current(); c != nil {
		return c.id
	}
	return ""
}

func (e *Engine) current() *compiled {
	if e == nil {
		return nil
	}
	return e.cur.Load()
}

// Decide evaluates the policy in force for in. Only a decision document whose
// allow is the literal true allows; every failure denies with an *Error.
func (e *Engine) Decide(ctx context.Context, in *Input) (Decision, error) {
	p := e.current()
	if p == nil {
		return denied(CodeNotReady), &Error{Code: CodeNotReady, Err: errors.New("no policy loaded")}
	}
	if in == nil {
		return e.refuse(ctx, p, &Error{Code: CodeNilInput, Err: errors.New("input is nil")})
	}
	// Checked once, before the cache: a caller that gave up gets no
	// decision, cached or not. The timeout below starts from a context that
	// was not done; evaluate sees anything that happens after.
	if err := ctx.Err(); err != nil {
		return e.refuse(ctx, p, contextError(err))
	}
	sh := e.shadow.Load() // once: the cache decision and the shadow evaluation must agree
	cache := e.cacheOf(p, sh)
	var key *cacheKey
	if cache != nil {
		key = cache.key(in)
		defer key.release()
		if d, ok := cache.get(key, in.Time); ok {
			return d, nil
		}
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	value, err := e.inputValue(in)
	if err != nil {
		return e.refuse(ctx, p, &Error{Code: CodeBadInput, Err: err})
	}
	k := memoKey{in.Subject, in.Tool}
	d, derr := evaluate(ctx, p, value, k)
	if derr != nil {
		d, _ = fail(p, derr)
	}
	if sh != nil {
		d.Shadow = e.evalShadow(ctx, sh, value, k, d.Allow)
	}
	if e.dlog != nil {
		e.dlog.log(ctx, p, value, &d, derr)
	}
	if derr != nil {
		return d, derr
	}
	if cache != nil {
		cache.put(key, in, &d)
	}
	return d, nil
}

// CachedDecision returns the decision the decision cache holds for in, when
// one serves it under the rules of WithDecisionCache; it never evaluates the
// policy. ok is false when the cache is off or bypassed (a shadow policy or
// decision logs must see every decision), when ctx is done, or on a miss:
// the caller then calls Decide. A caller that records the evaluation (a
// guardrail span) only when the policy actually runs uses it to tell the two
// apart before it starts recording.
func (e *Engine) CachedDecision(ctx context.Context, in *Input) (d Decision, ok bool) {
	p := e.current()
	if p == nil || in == nil || ctx.Err() != nil {
		return Decision{}, false
	}
	cache := e.cacheOf(p, e.shadow.Load())
	if cache == nil {
		return Decision{}, false
	}
	key := cache.key(in)
	defer key.release()
	return cache.get(key, in.Time)
}

// cacheOf is p's decision cache, or nil when there is none (with decision
// logs New builds none) or it is bypassed: a shadow policy must see every
// decision (see WithDecisionCache).
func (e *Engine) cacheOf(p *compiled, shadow *compiled) *decisionCache {
	if p.cache == nil || shadow != nil {
		return nil
	}
	return p.cache
}

// evaluate runs one compiled policy on a pre-converted input; k is the part
// of the input the rule memo is keyed on.
func evaluate(ctx context.Context, p *compiled, value ast.Value, k memoKey) (Decision, *Error) {
	var rs rego.ResultSet
	var err error
	if p.memo == nil {
		rs, err = p.prepared.Eval(ctx, rego.EvalParsedInput(value), evalRawTerm, evalNoMetrics)
	} else {
		vc := p.memo.cache(k)
		rs, err = p.prepared.Eval(ctx, rego.EvalParsedInput(value), evalRawTerm, evalNoMetrics, rego.EvalVirtualCache(vc))
		if err == nil && ctx.Err() == nil {
			p.memo.learn(k, vc)
		}
	}
	if cerr := ctx.Err(); cerr != nil {
		return Decision{}, contextError(cerr)
	}
	if err != nil {
		return Decision{}, &Error{Code: CodeEvalError, Err: err}
	}
	switch {
	case len(rs) == 0:
		return Decision{}, &Error{Code: CodeUndefined, Err: fmt.Errorf("query %s is undefined", p.id)}
	case len(rs) > 1:
		return Decision{}, &Error{Code: CodeMultipleResults, Err: fmt.Errorf("query %s produced %d results", p.id, len(rs))}
	case len(rs[0].Bindings) > 0:
		return Decision{}, &Error{Code: CodeBindings, Err: fmt.Errorf("query %s bound %d variables", p.id, len(rs[0].Bindings))}
	case len(rs[0].Expressions) != 1:
		return Decision{}, &Error{Code: CodeMultipleResults, Err: fmt.Errorf("query %s produced %d expressions", p.id, len(rs[0].Expressions))}
	}
	d, derr := parseDecision(rs[0].Expressions[0].Value)
	if derr != nil {
		return Decision{}, derr
	}
	d.PolicyID, d.Revision = p.id, p.revision
	return d, nil
}

// evalNoMetrics spares every evaluation the metrics registry rego makes
// when given none: nothing reads it.
var evalNoMetrics = rego.EvalMetrics(metrics.NoOp())

// evalRawTerm makes rego hand back the decision as the term it computed
// instead of converting it to Go maps: parseDecision reads the term directly.
var evalRawTerm = rego.EvalGenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil })

// refuse denies, before evaluation, for err. Decision logs ship that
// decision too, without an input: there is none, or it cannot be encoded,
// or the caller gave up before it was built.
func (e *Engine) refuse(ctx context.Context, p *compiled, err *Error) (Decision, error) {
	d, _ := fail(p, err)
	if e.dlog != nil {
		e.dlog.log(ctx, p, nil, &d, err)
	}
	return d, err
}

func fail(p *compiled, err *Error) (Decision, error) {
	d := denied(err.Code)
	d.PolicyID, d.Revision = p.id, p.revision
	return d, err
}

func contextError(err error) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeDeadline, Err: err}
	}
	return &Error{Code: CodeCanceled, Err: err}
}

// Close stops background reloading (directory polling, bundle downloads).
// The last policy loaded keeps serving. Idempotent.
func (e *Engine) Close() error {
	if e == nil {
		return nil
	}
	e.closeOnce.Do(func() {
		if e.cancel != nil {
			e.cancel()
		}
		e.bg.Wait()
		if e.dlog != nil {
			e.dlog.stop()
		}
	})
	return nil
}
