package toolguard

import (
	"fmt"

	"github.com/ztagent/ztagent/authz"
)

// Stable denial codes set by the guard itself. Denials decided by the policy
// carry the policy's own reason code (for the default policy, see package
// authz), and evaluation failures carry the authz.Code* of the failure.
const (
	CodeNilGuard            = "nil_guard"
	CodeGuardClosed         = "guard_closed"
	CodeCanceled            = "canceled"
	CodeBadArgs             = "bad_args"
	CodeBadDestination      = "bad_destination"
	CodeIdentityUnavailable = "identity_unavailable"
	CodeIdentityExpired     = "identity_expired"
	CodePolicyDenied        = "policy_denied"
	CodeApprovalRequired    = "approval_required" // approval needed and no Approver configured
	CodeApprovalRefused     = "approval_refused"
	CodeApprovalFailed      = "approval_failed" // the Approver erred or timed out
	CodeCredentialFailed    = "credential_unavailable"
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
