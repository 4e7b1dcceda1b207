package toolguard

import (
	"context"
	"encoding/json"

	"github.com/ztagent/ztagent/authz"
)

// Approver decides, just in time, on a call the policy allowed only with
// approval. It is the seam to a human, a chat-ops bot or a second policy.
// The request is bound to the frozen arguments: what is approved is exactly
// what runs.
type Approver interface {
	Approve(ctx context.Context, req ApprovalRequest) (Approval, error)
}

// ApprovalRequest is what an approver is asked about.
type ApprovalRequest struct {
	Tool       Tool
	CallID     string
	Subject    string          // the agent's SPIFFE ID
	Principal  Principal       // on whose behalf
	Args       json.RawMessage // the frozen, canonical arguments
	ArgsDigest string          // "hmac-sha256:<hex>" of Args, under the guard's key (WithArgsDigestKey)
	Reasons    []authz.Reason  // why approval is required
}

// Approval is an approver's answer.
type Approval struct {
	Approved bool
	By       string // who decided, for the audit trail
	Reason   string
}

// ApproverFunc adapts a function to Approver.
type ApproverFunc func(ctx context.Context, req ApprovalRequest) (Approval, error)

// Approve calls f.
func (f ApproverFunc) Approve(ctx context.Context, req ApprovalRequest) (Approval, error) {
	return f(ctx, req)
}
