package audit_test

import (
	"context"
	"errors"
	"testing"

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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, rec := newTracer(t)
			_, tool := tr.StartToolCall(context.Background(), audit.ToolCall{Name: "x", CallID: "call_1"})
			// A ctx whose active span is unrelated: the guardrail still hangs
			// off execute_tool.
			other, otherSpan := tr.StartAgent(context.Background(), audit.Agent{Name: "other"})
			other = context.WithValue(other, ctxMarker{}, "kept")
			gctx, g := tool.StartGuardrail(other)
			require.Equal(t, "kept", gctx.Value(ctxMarker{}))
			g.End(tc.verdict)
			g.End(audit.Verdict{Allow: true, Code: "ignored"}) // idempotent
			tool.End(audit.Outcome{Status: audit.StatusOK})
			otherSpan.End()

			gr := byName(t, rec, "run_guardrail ztagent.authz")
			require.Equal(t, trace.SpanKindInternal, gr.SpanKind())
			require.Equal(t, tool.SpanContext().SpanID(), gr.Parent().SpanID())
			require.Equal(t, gr.SpanContext(), trace.SpanContextFromContext(gctx))
			require.Equal(t, tc.wantStatus, gr.Status().Code)
			requireAttrs(t, spanAttrs(gr), tc.guardrail, tc.absent...)
			requireAttrs(t, spanAttrs(byName(t, rec, "execute_tool x")), tc.tool)
		})
	}
}

type ctxMarker struct{}
