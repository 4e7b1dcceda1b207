package authz

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
)

// Decider is the seam the guard consumes: one decision per tool call.
// Implementations fail closed: any error comes with a denying Decision.
type Decider interface {
	Decide(ctx context.Context, in *Input) (Decision, error)
}

var _ Decider = (*Engine)(nil)

// Engine evaluates one prepared Rego query. It is compiled once by New and
// is safe for concurrent use; Decide does no compilation.
//
// The zero Engine denies every call with CodeNotReady.
type Engine struct {
	prepared rego.PreparedEvalQuery
	ready    bool
	timeout  time.Duration
	policyID string
	revision string
}

// Revision is "sha256:<hex>" over the modules, data and query the engine was
// built from. Two engines built from the same inputs have the same revision.
func (e *Engine) Revision() string {
	if e == nil {
		return ""
	}
	return e.revision
}

// PolicyID is the query path whose value is the decision (for example
// "data.ztagent.decision"); it is copied into every Decision.
func (e *Engine) PolicyID() string {
	if e == nil {
		return ""
	}
	return e.policyID
}

// Decide evaluates the policy for one call. Only a decision document whose
// "allow" is the literal true allows. Every failure — nil input, undefined
// or ambiguous result, evaluation error, cancellation, deadline, a decision
// of the wrong shape — returns a denying Decision with one reason whose code
// is the *Error's Code.
func (e *Engine) Decide(ctx context.Context, in *Input) (Decision, error) {
	if e == nil || !e.ready {
		return denied(CodeNotReady), &Error{Code: CodeNotReady, Err: errors.New("engine not built by New")}
	}
	if in == nil {
		return e.fail(&Error{Code: CodeNilInput, Err: errors.New("input is nil")})
	}

	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return e.fail(contextError(err))
	}

	value, err := in.astValue()
	if err != nil {
		return e.fail(&Error{Code: CodeBadInput, Err: err})
	}

	rs, err := e.prepared.Eval(ctx, rego.EvalParsedInput(value))
	// A canceled evaluation can surface as a builtin or cancel error, or even
	// complete; the context is the authority on why it stopped, and a caller
	// that gave up must never receive an allow.
	if cerr := ctx.Err(); cerr != nil {
		return e.fail(contextError(cerr))
	}
	if err != nil {
		return e.fail(&Error{Code: CodeEvalError, Err: err})
	}

	switch {
	case len(rs) == 0:
		return e.fail(&Error{Code: CodeUndefined, Err: fmt.Errorf("query %s is undefined", e.policyID)})
	case len(rs) > 1:
		return e.fail(&Error{Code: CodeMultipleResults, Err: fmt.Errorf("query %s produced %d results", e.policyID, len(rs))})
	case len(rs[0].Bindings) > 0:
		return e.fail(&Error{Code: CodeBindings, Err: fmt.Errorf("query %s bound %d variables", e.policyID, len(rs[0].Bindings))})
	case len(rs[0].Expressions) != 1:
		return e.fail(&Error{Code: CodeMultipleResults, Err: fmt.Errorf("query %s produced %d expressions", e.policyID, len(rs[0].Expressions))})
	}

	d, derr := parseDecision(rs[0].Expressions[0].Value)
	if derr != nil {
		return e.fail(derr)
	}
	d.PolicyID, d.Revision = e.policyID, e.revision
	return d, nil
}

// fail builds the denying decision that goes with err.
func (e *Engine) fail(err *Error) (Decision, error) {
	d := denied(err.Code)
	d.PolicyID, d.Revision = e.policyID, e.revision
	return d, err
}

func contextError(err error) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeDeadline, Err: err}
	}
	return &Error{Code: CodeCanceled, Err: err}
}
