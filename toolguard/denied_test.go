package toolguard_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard"
)

// Denial codes are what users match on: their values never change, and a
// renamed code's former name is the same value.
func TestDenialCodeValuesAreStable(t *testing.T) {
	for want, got := range map[string]string{
		"nil_guard":              toolguard.CodeNilGuard,
		"guard_closed":           toolguard.CodeGuardClosed,
		"canceled":               toolguard.CodeCanceled,
		"bad_args":               toolguard.CodeBadArgs,
		"bad_destination":        toolguard.CodeBadDestination,
		"identity_unavailable":   toolguard.CodeIdentityUnavailable,
		"identity_expired":       toolguard.CodeIdentityExpired,
		"policy_denied":          toolguard.CodePolicyDenied,
		"approval_required":      toolguard.CodeNoApprover,
		"approval_refused":       toolguard.CodeApprovalRefused,
		"approval_failed":        toolguard.CodeApprovalFailed,
		"credential_unavailable": toolguard.CodeCredentialUnavailable,
		"task_ended":             toolguard.CodeTaskEnded,
		"budget_exceeded":        toolguard.CodeBudgetExceeded,
		"budget_unavailable":     toolguard.CodeBudgetUnavailable,
		"agent_suspended":        toolguard.CodeAgentSuspended,
		"task_suspended":         toolguard.CodeTaskSuspended,
		"audit_unavailable":      toolguard.CodeAuditUnavailable,
		"bad_peer":               toolguard.CodeBadPeer,
		"policy_canceled":        authz.CodeCanceled,
	} {
		require.Equal(t, want, got)
	}
	require.Equal(t, toolguard.CodeCredentialUnavailable, toolguard.CodeCredentialFailed)
	require.Equal(t, toolguard.CodeNoApprover, toolguard.CodeApprovalRequired)
}
