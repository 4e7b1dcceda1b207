package authz

import "errors"

// Stable codes of fail-closed evaluation failures. They appear both in
// [Error].Code and as the single reason of the denying [Decision], so audit
// records and dashboards can group failures without parsing messages.
const (
	// CodeUndefined: the query produced no result, or the decision has no "allow".
	CodeUndefined = "policy_undefined"
	// CodeNotBoolean: "allow" is present but is not a literal boolean.
	CodeNotBoolean = "policy_allow_not_boolean"
	// CodeMultipleResults: the query produced more than one result or expression.
	CodeMultipleResults = "policy_multiple_results"
	// CodeBindings: the query bound variables, so its single value is not the decision.
	CodeBindings = "policy_unexpected_bindings"
	// CodeEvalError: evaluation failed (strict builtin error, conflict, ...).
	CodeEvalError = "policy_eval_error"
	// CodeCanceled: the caller's context was canceled before or while the
	// policy evaluated. (toolguard.CodeCanceled, "canceled", is a call
	// whose context had ended before the guard asked the policy at all.)
	CodeCanceled = "policy_canceled"
	// CodeDeadline: the engine's timeout or the caller's deadline passed.
	CodeDeadline = "policy_deadline"
	// CodeBadDecision: the decision document has fields of the wrong type or shape.
	CodeBadDecision = "policy_bad_decision"
	// CodeNilInput: Decide was called with a nil *Input.
	CodeNilInput = "policy_nil_input"
	// CodeBadInput: the input could not be encoded as JSON (for example
	// Call.Args is not valid JSON).
	CodeBadInput = "policy_bad_input"
	// CodeNotReady: Decide was called on a nil or zero Engine (not built by New).
	CodeNotReady = "policy_engine_not_ready"
)

// CodeDenied is the reason code the engine adds when a policy denies without
// giving any reason, so every denial carries at least one stable code.
const CodeDenied = "denied"

// Error is a fail-closed evaluation failure. Whenever Decide returns an
// *Error it also returns a denying Decision whose only reason has the same
// Code.
//
// The wrapped error may quote values from the policy or the input (OPA's
// builtin errors name their operands), so log it with the same care as the
// input itself; the Decision's reason message is fixed text.
type Error struct {
	Code string
	Err  error
}

// Error returns "authz: <code>: <detail>".
func (e *Error) Error() string {
	if e.Err == nil {
		return "authz: " + e.Code
	}
	return "authz: " + e.Code + ": " + e.Err.Error()
}

// Unwrap returns the underlying cause, so errors.Is(err, context.DeadlineExceeded) works.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the Code of the *Error in err's chain, or "" if there is none.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
