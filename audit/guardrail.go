package audit

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// guardrailSpanName names the authorization guardrail: ztagent's own Rego
// decision, "run_guardrail" being the operation name proposed for guardrails
// in the GenAI conventions.
const guardrailSpanName = opRunGuardrail + " ztagent.authz"

// Verdict is the authorization decision, given to [Call.Decided].
type Verdict struct {
	// Allow is the decision. It is recorded as "deny" when Err is set, since
	// an evaluation failure never allows.
	Allow bool
	// Code is the stable reason code of the first reason; "" means the code
	// of Reasons[0].
	Code string
	// Reasons are every reason the policy gave. Only their codes go on the span.
	Reasons []Reason
	// PolicyID names the policy that decided (its query path).
	PolicyID string
	// PolicyRevision is "sha256:<hex>" of the policy, data and query.
	PolicyRevision string
	// ApprovalRequired says the policy demanded human approval.
	ApprovalRequired bool
	// Err is the evaluation error, if any. It is recorded as error.type = Code
	// and as the span status message, so it must not contain secrets.
	Err error
	// Shadow is what a candidate policy evaluated beside the enforced one
	// would have decided, if one is loaded.
	Shadow *Shadow
	// Redact lists the argument paths the decision says records must hide.
	Redact []string
}

// Shadow is a candidate policy's verdict on the same call.
type Shadow struct {
	Revision string `json:"revision"`
	Allow    bool   `json:"allow"`
	Code     string `json:"code,omitempty"`
	Flip     string `json:"flip,omitempty"` // "" when it agrees; "allow_to_deny" or "deny_to_allow"
}

func (s *Shadow) attributes() []attribute.KeyValue {
	attrs := []attribute.KeyValue{KeyShadowRevision.String(s.Revision), KeyShadowVerdict.String(verdictName(s.Allow))}
	if s.Code != "" {
		attrs = append(attrs, KeyShadowCode.String(s.Code))
	}
	if s.Flip != "" {
		attrs = append(attrs, KeyShadowFlip.String(s.Flip))
	}
	return attrs
}

func (v Verdict) verdict() string { return verdictName(v.Allow && v.Err == nil) }

// verdictName is how spans and records spell a verdict.
func verdictName(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

// appendSummary appends what the execute_tool span carries of a verdict:
// the verdict, its code, the policy id and revision.
func (v Verdict) appendSummary(attrs []attribute.KeyValue) []attribute.KeyValue {
	attrs = append(attrs, KeyGuardrailVerdict.String(v.verdict()))
	if code := v.code(); code != "" {
		attrs = append(attrs, KeyDecisionCode.String(code))
	}
	if v.PolicyID != "" {
		attrs = append(attrs, KeyPolicyID.String(v.PolicyID))
	}
	if v.PolicyRevision != "" {
		attrs = append(attrs, KeyPolicyRevision.String(v.PolicyRevision))
	}
	return attrs
}

// decisionCached records a verdict served from the decision cache. The
// policy did not run for this call, so no run_guardrail span is made: the
// summary the guardrail would have copied onto the execute_tool span (verdict,
// code, policy id and revision) is set on it directly, with
// ztagent.decision.cached = true. A decision is only cached when the policy
// allowed without approval and without error; Reasons, Err, ApprovalRequired
// and Shadow are therefore not recorded here. Use startGuardrail for every
// decision the policy actually evaluated.
func (s *toolSpan) decisionCached(v Verdict) {
	if s == nil || s.span == nil {
		return
	}
	var buf [5]attribute.KeyValue
	s.set(append(v.appendSummary(buf[:0]), KeyDecisionCached.Bool(true))...)
}

func (v Verdict) code() string {
	if v.Code != "" {
		return v.Code
	}
	if len(v.Reasons) > 0 {
		return v.Reasons[0].Code
	}
	return ""
}

// guardrailSpan is one "run_guardrail ztagent.authz" span. The zero value
// records nothing.
type guardrailSpan struct {
	span trace.Span
	tool *toolSpan
	once sync.Once
}

// startGuardrail starts the "run_guardrail ztagent.authz" span (kind INTERNAL)
// as a child of the execute_tool span, whatever span is active in ctx: the
// guardrail guards this call and no other. The returned ctx keeps ctx's values
// and has the guardrail span active.
func (s *toolSpan) startGuardrail(ctx context.Context) (context.Context, *guardrailSpan) {
	ctx = trace.ContextWithSpan(ctx, s.spanOrNoop())
	ctx, span := s.tracerOrNoop().Start(ctx, guardrailSpanName,
		kindInternal,
		trace.WithAttributes(keyGenAIOperationName.String(opRunGuardrail)))
	return ctx, &guardrailSpan{span: span, tool: s}
}

// end records the verdict on the guardrail span, copies the verdict, code,
// policy id and revision onto the execute_tool span, and ends the guardrail
// span. Only the first call has an effect. A deny is not an error of the
// guardrail (it did its job); only v.Err sets the span status to Error.
func (g *guardrailSpan) end(v Verdict) {
	if g == nil || g.span == nil {
		return
	}
	g.once.Do(func() {
		// One slice serves both spans: the summary the execute_tool span
		// gets, then the guardrail span's own attributes after it.
		attrs := v.appendSummary(make([]attribute.KeyValue, 0, 8))
		summary := attrs[:len(attrs)]
		attrs = append(attrs, KeyApprovalRequired.Bool(v.ApprovalRequired))
		if len(v.Reasons) > 0 {
			reasonCodes := make([]string, len(v.Reasons))
			for i, r := range v.Reasons {
				reasonCodes[i] = r.Code
			}
			attrs = append(attrs, KeyDecisionReasons.StringSlice(reasonCodes))
		}
		if v.Err != nil {
			attrs = append(attrs, keyErrorType.String(errorType(StatusError, v.code())))
			g.span.SetStatus(codes.Error, v.Err.Error())
		}
		if v.Shadow != nil {
			shadow := v.Shadow.attributes()
			attrs = append(attrs, shadow...)
			if v.Shadow.Flip != "" {
				g.span.AddEvent(EventShadowFlip, trace.WithAttributes(shadow...))
				g.tool.set(KeyShadowFlip.String(v.Shadow.Flip))
			}
		}
		g.span.SetAttributes(attrs...)
		g.tool.set(summary...)
		g.span.End()
	})
}
