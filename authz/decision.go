package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Decision is what a policy returns for one tool call. Only Allow == true
// lets the call run; everything else in it narrows what the call may do.
type Decision struct {
	Allow      bool            `json:"allow"`
	Reasons    []Reason        `json:"reasons"`
	Approval   Approval        `json:"approval"`
	Credential CredentialGrant `json:"credential"`
	Egress     Egress          `json:"egress"`
	Redact     []string        `json:"redact"`
	PolicyID   string          `json:"-"` // which policy decided (the query path), set by the engine
	Revision   string          `json:"-"` // "sha256:<hex>" of modules+data+query, set by the engine
	// DecisionID names this decision's event in the OPA decision log
	// (WithDecisionLogs), so an audit record can point at it; "" when
	// decision logs are off.
	DecisionID string `json:"-"`
	// Shadow is what the shadow policy (Engine.LoadShadow) would have
	// decided, when one is loaded. It never changes Allow.
	Shadow *ShadowResult `json:"-"`
}

// Reason explains a decision with a stable, machine-readable Code.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Approval says whether a human must approve the call before it runs. The
// policy only asks; the guard enforces it.
type Approval struct {
	Required bool   `json:"required"`
	Reason   string `json:"reason,omitempty"`
}

// CredentialGrant is the scope of the short-lived credential minted for the call.
type CredentialGrant struct {
	Audience   string   `json:"audience"`
	Scopes     []string `json:"scopes"`
	TTLSeconds int      `json:"ttl_seconds"`
	// Reuse is how long the credential may serve: ReuseCall (the default:
	// minted for this call, revoked when it returns) or ReuseTask (shared by
	// the calls of one task with the same audience and scopes, refreshed in
	// the background, revoked when the task ends).
	Reuse string `json:"reuse,omitempty"`
}

// Credential reuse values.
const (
	ReuseCall = "call"
	ReuseTask = "task"
)

// Egress lists the hosts the call may reach.
type Egress struct {
	Hosts []string `json:"hosts"`
}

// denied is the decision returned with every *Error: no permission at all,
// one reason with the failure code.
func denied(code string) Decision {
	return Decision{
		Allow:   false,
		Reasons: []Reason{{Code: code, Message: failureMessage(code)}},
	}
}

// failureMessage is fixed text per code: the detail of a failure can quote
// input values, and reasons end up in audit records.
func failureMessage(code string) string {
	switch code {
	case CodeUndefined:
		return "policy produced no decision"
	case CodeNotBoolean:
		return "policy decision allow is not a boolean"
	case CodeMultipleResults:
		return "policy produced more than one decision"
	case CodeBindings:
		return "policy query bound variables"
	case CodeEvalError:
		return "policy evaluation failed"
	case CodeCanceled:
		return "policy evaluation canceled"
	case CodeDeadline:
		return "policy evaluation deadline exceeded"
	case CodeBadDecision:
		return "policy decision has the wrong shape"
	case CodeNilInput:
		return "no input"
	case CodeBadInput:
		return "input cannot be encoded"
	case CodeNotReady:
		return "authorization engine not initialised"
	default:
		return "authorization failed"
	}
}

// parseDecision turns the value of the query into a Decision. It is strict
// about types because a policy bug must deny, not be read as a permissive
// zero value.
func parseDecision(v any) (Decision, *Error) {
	doc, ok := v.(map[string]any)
	if !ok {
		return Decision{}, &Error{Code: CodeBadDecision, Err: fmt.Errorf("decision is %T, want an object", v)}
	}
	rawAllow, ok := doc["allow"]
	if !ok {
		return Decision{}, &Error{Code: CodeUndefined, Err: errors.New("decision has no allow")}
	}
	if _, ok := rawAllow.(bool); !ok {
		return Decision{}, &Error{Code: CodeNotBoolean, Err: fmt.Errorf("allow is %T, want a boolean", rawAllow)}
	}

	// Round trip through JSON so encoding/json does the type checking of
	// every nested field (reasons of the wrong type, ttl_seconds as a string...).
	b, err := json.Marshal(doc)
	if err != nil {
		return Decision{}, &Error{Code: CodeBadDecision, Err: err}
	}
	var d Decision
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return Decision{}, &Error{Code: CodeBadDecision, Err: err}
	}
	if err := d.validate(); err != nil {
		return Decision{}, &Error{Code: CodeBadDecision, Err: err}
	}
	if !d.Allow && len(d.Reasons) == 0 {
		d.Reasons = []Reason{{Code: CodeDenied, Message: "policy denied without a reason"}}
	}
	if d.Reasons == nil {
		d.Reasons = []Reason{}
	}
	return d, nil
}

// validate checks what types alone cannot: every reason has a code (callers
// key on it) and a credential lifetime is never negative.
func (d *Decision) validate() error {
	for i, r := range d.Reasons {
		if r.Code == "" {
			return fmt.Errorf("reasons[%d] has no code", i)
		}
	}
	switch d.Credential.Reuse {
	case "", ReuseCall, ReuseTask:
	default:
		return fmt.Errorf("credential.reuse is %q, want %q or %q", d.Credential.Reuse, ReuseCall, ReuseTask)
	}
	if d.Credential.TTLSeconds < 0 {
		return fmt.Errorf("credential.ttl_seconds is negative: %d", d.Credential.TTLSeconds)
	}
	return nil
}
