package toolguard

import (
	"fmt"

	"github.com/ztagent/ztagent/authz"
)

// Stable denial codes set by the guard itself. Denials decided by the policy
// carry the policy's own reason code (for the default policy, see package
// authz), and evaluation failures carry the authz.Code* of the failure.
//
// The values are what users match, and never change. Two names did not say
// what their values mean and were renamed, values kept; the old names remain
// as deprecated aliases: CodeCredentialFailed is CodeCredentialUnavailable
// ("credential_unavailable"), CodeApprovalRequired is CodeNoApprover
// ("approval_required").
const (
	CodeNilGuard    = "nil_guard"
	CodeGuardClosed = "guard_closed"
	// CodeCanceled: the caller's context had ended when the guard began to
	// authorize the call, so nothing was checked and no policy asked. A
	// context that ends while the policy evaluates denies with
	// authz.CodeCanceled ("policy_canceled") instead, the policy's code.
	CodeCanceled            = "canceled"
	CodeBadArgs             = "bad_args"
	CodeBadDestination      = "bad_destination"
	CodeIdentityUnavailable = "identity_unavailable"
	CodeIdentityExpired     = "identity_expired"
	CodePolicyDenied        = "policy_denied"
	// CodeNoApprover: the policy allows the call only with approval, and
	// the guard has no Approver (WithApprover). The value is older than
	// the name.
	CodeNoApprover      = "approval_required"
	CodeApprovalRefused = "approval_refused"
	CodeApprovalFailed  = "approval_failed" // the Approver erred or timed out
	// CodeCredentialUnavailable: no credential could be issued for the
	// call (the issuer failed, or returned one living too long).
	CodeCredentialUnavailable = "credential_unavailable"
	// CodeTaskEnded: the call was made under a task after Task.End.
	CodeTaskEnded = "task_ended"
)

// Former names of two codes above, kept so code matching them compiles.
const (
	// Deprecated: use CodeCredentialUnavailable; the value is the same.
	CodeCredentialFailed = CodeCredentialUnavailable
	// Deprecated: use CodeNoApprover; the value is the same.
	CodeApprovalRequired = CodeNoApprover
)

// DeniedError is returned instead of running the tool. Use errors.As to get it
// and tell the model why: Code is stable and machine-readable, Reason is for
// people. It never holds secrets or argument values.
type DeniedError struct {
	Tool    string
	CallID  string
	Code    string
	Reason  string
	Reasons []authz.Reason // the policy's reasons, when the policy decided
	Err     error          // the underlying failure, when there is one
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("toolguard: %s denied (%s): %s", e.Tool, e.Code, e.Reason)
}

func (e *DeniedError) Unwrap() error { return e.Err }

func deny(t *Tool, callID, code, reason string, err error) *DeniedError {
	name := ""
	if t != nil {
		name = t.Name
	}
	return &DeniedError{Tool: name, CallID: callID, Code: code, Reason: reason, Err: err}
}
