package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/ztagent/ztagent/audit"
)

func TestGuardrail(t *testing.T) {
	evalErr := errors.New("authz: policy_deadline: context deadline exceeded")
	tests := []struct {
		name       string
		verdict    audit.Verdict
		wantStatus codes.Code
		guardrail  map[string]any
		tool       map[string]any
		absent     []string
		toolAbsent []string
	}{
		{
			name: "allow",
			verdict: audit.Verdict{
				Allow: true, Code: "allowed", Reasons: []audit.Reason{{Code: "allowed", Message: "ok"}},
				PolicyID: "data.ztagent.decision", PolicyRevision: "sha256:rev",
			},
			wantStatus: codes.Unset,
			guardrail: map[string]any{
				"gen_ai.operation.name":     "run_guardrail",
				"ztagent.guardrail.verdict": "allow",
				"ztagent.decision.code":     "allowed",
				"ztagent.decision.reasons":  []string{"allowed"},
				"ztagent.policy.id":         "data.ztagent.decision",
				"ztagent.policy.revision":   "sha256:rev",
				"ztagent.approval.required": false,
			},
			tool: map[string]any{
				"ztagent.guardrail.verdict": "allow",
				"ztagent.decision.code":     "allowed",
				"ztagent.policy.revision":   "sha256:rev",
			},
			absent: []string{"error.type"},
		},
		{
			name: "deny takes its code from the first reason",
			verdict: audit.Verdict{
				Reasons: []audit.Reason{
					{Code: "tool_not_granted", Message: "m1"},
					{Code: "destination_not_allowed", Message: "m2"},
				},
				PolicyRevision: "sha256:rev",
			},
			wantStatus: codes.Unset, // a deny is the guardrail working, not failing
			guardrail: map[string]any{
				"ztagent.guardrail.verdict": "deny",
				"ztagent.decision.code":     "tool_not_granted",
				"ztagent.decision.reasons":  []string{"tool_not_granted", "destination_not_allowed"},
			},
			tool: map[string]any{
				"ztagent.guardrail.verdict": "deny",
				"ztagent.decision.code":     "tool_not_granted",
			},
			absent: []string{"error.type"},
		},
		{
			name:       "allow with approval",
			verdict:    audit.Verdict{Allow: true, Code: "write_requires_approval", ApprovalRequired: true},
			wantStatus: codes.Unset,
			guardrail:  map[string]any{"ztagent.approval.required": true, "ztagent.guardrail.verdict": "allow"},
			tool:       map[string]any{"ztagent.guardrail.verdict": "allow"},
		},
		{
			name:       "evaluation error",
			verdict:    audit.Verdict{Code: "policy_deadline", Err: evalErr},
			wantStatus: codes.Error,
			guardrail: map[string]any{
				"ztagent.guardrail.verdict": "deny",
				"error.type":                "policy_deadline",
			},
			tool: map[string]any{"ztagent.decision.code": "policy_deadline"},
		},
		{
			name:       "allow with an error still denies",
			verdict:    audit.Verdict{Allow: true, Err: evalErr},
			wantStatus: codes.Error,
			guardrail:  map[string]any{"ztagent.guardrail.verdict": "deny", "error.type": "_OTHER"},
			tool:       map[string]any{"ztagent.guardrail.verdict": "deny"},
		},
		{
			// The summary and the guardrail's own attributes share one
			// slice: the flip added to the summary must not overwrite them.
			// (Eight attributes in all: as many as the slice holds.)
			name: "shadow flip",
			verdict: audit.Verdict{
				Code: "tool_not_granted", PolicyID: "data.ztagent.decision", PolicyRevision: "sha256:rev",
				Shadow: &audit.Shadow{Revision: "sha256:cand", Allow: true, Flip: "deny_to_allow"},
			},
			wantStatus: codes.Unset,
			guardrail: map[string]any{
				"ztagent.guardrail.verdict": "deny",
				"ztagent.decision.code":     "tool_not_granted",
				"ztagent.policy.id":         "data.ztagent.decision",
				"ztagent.policy.revision":   "sha256:rev",
				"ztagent.approval.required": false,
				"ztagent.shadow.revision":   "sha256:cand",
				"ztagent.shadow.verdict":    "allow",
				"ztagent.shadow.flip":       "deny_to_allow",
			},
			tool: map[string]any{
				"ztagent.guardrail.verdict": "deny",
				"ztagent.decision.code":     "tool_not_granted",
				"ztagent.policy.id":         "data.ztagent.decision",
				"ztagent.policy.revision":   "sha256:rev",
				"ztagent.shadow.flip":       "deny_to_allow",
			},
			toolAbsent: []string{"ztagent.approval.required", "ztagent.decision.reasons", "ztagent.shadow.revision"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, rec := newTracer(t)
			_, tool := startCall(t, tr, context.Background(), audit.CallStart{Tool: "x", CallID: "call_1"})
			// A ctx whose active span is unrelated: the guardrail still hangs
			// off execute_tool.
			other, otherSpan := tr.StartAgent(context.Background(), audit.Agent{Name: "other"})
			other = context.WithValue(other, ctxMarker{}, "kept")
			gctx := tool.StartDecision(other)
			require.Equal(t, "kept", gctx.Value(ctxMarker{}))
			tool.Decided(tc.verdict, false)
			tool.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
			otherSpan.End()

			gr := byName(t, rec, "run_guardrail ztagent.authz")
			require.Equal(t, trace.SpanKindInternal, gr.SpanKind())
			require.Equal(t, tool.SpanContext().SpanID(), gr.Parent().SpanID())
			require.Equal(t, gr.SpanContext(), trace.SpanContextFromContext(gctx))
			require.Equal(t, tc.wantStatus, gr.Status().Code)
			requireAttrs(t, spanAttrs(gr), tc.guardrail, tc.absent...)
			requireAttrs(t, spanAttrs(byName(t, rec, "execute_tool x")), tc.tool, tc.toolAbsent...)
		})
	}
}

type ctxMarker struct{}

// A cached verdict goes on execute_tool with ztagent.decision.cached and
// makes no run_guardrail span.
func TestDecisionCached(t *testing.T) {
	tr, rec := newTracer(t)
	_, ts := startCall(t, tr, context.Background(), audit.CallStart{
		Tool: "fetch", CallID: "c1", Effect: "read",
		Identity: &audit.Identity{SPIFFEID: "spiffe://td/agent", Serial: "1f", NotAfter: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	})
	ts.Decided(audit.Verdict{Allow: true, Code: "allowed", PolicyID: "data.ztagent.decision", PolicyRevision: "sha256:rev"}, true)
	ts.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	require.Len(t, rec.Ended(), 1, "no guardrail span")
	requireAttrs(t, spanAttrs(byName(t, rec, "execute_tool fetch")), map[string]any{
		"ztagent.guardrail.verdict": "allow",
		"ztagent.decision.code":     "allowed",
		"ztagent.decision.cached":   true,
		"ztagent.policy.id":         "data.ztagent.decision",
		"ztagent.policy.revision":   "sha256:rev",
		"ztagent.subject.spiffe_id": "spiffe://td/agent",
		"ztagent.svid.serial":       "1f",
		"ztagent.svid.expires_at":   "2026-01-02T03:04:05Z",
		"ztagent.outcome":           "ok",
	})
	var zero *audit.Call
	zero.Decided(audit.Verdict{Allow: true}, true) // records nothing, does not panic
}

// Attributes set after End still reach a span the guard did not end (an
// agent SDK's execute_tool span it enriched).
func TestToolSpanAttributesAfterEnd(t *testing.T) {
	tr, rec := newTracer(t)
	ctx, outer := startCall(t, tr, context.Background(), audit.CallStart{Tool: "fetch"})
	_, inner := startCall(t, tr, ctx, audit.CallStart{Tool: "fetch"}, audit.WithEnrichedSpans())
	inner.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	inner.CredentialRevoked("cred-1", nil)
	outer.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	require.Len(t, rec.Ended(), 1, "the enriched span is the framework's")
	requireAttrs(t, spanAttrs(rec.Ended()[0]), map[string]any{"ztagent.credential.revoke.ok": true, "ztagent.outcome": "ok"})
}
