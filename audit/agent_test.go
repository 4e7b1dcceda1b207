package audit_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"

	"github.com/ztagent/ztagent/audit"
)

func TestStartAgent(t *testing.T) {
	tests := []struct {
		name     string
		parent   string // conversation id already in ctx
		agent    audit.Agent
		wantName string
		want     map[string]any
		absent   []string
		wantConv string
	}{
		{
			name:     "named with conversation",
			agent:    audit.Agent{Name: "support", ConversationID: "c-1"},
			wantName: "invoke_agent support",
			want: map[string]any{
				"gen_ai.operation.name":  "invoke_agent",
				"gen_ai.agent.name":      "support",
				"gen_ai.conversation.id": "c-1",
			},
			wantConv: "c-1",
		},
		{
			name:     "unnamed without conversation",
			agent:    audit.Agent{},
			wantName: "invoke_agent",
			want:     map[string]any{"gen_ai.operation.name": "invoke_agent"},
			absent:   []string{"gen_ai.agent.name", "gen_ai.conversation.id"},
		},
		{
			name:     "conversation inherited from ctx",
			parent:   "c-outer",
			agent:    audit.Agent{Name: "sub"},
			wantName: "invoke_agent sub",
			want:     map[string]any{"gen_ai.conversation.id": "c-outer"},
			wantConv: "c-outer",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, rec := newTracer(t)
			ctx := context.Background()
			if tc.parent != "" {
				ctx, _ = tr.StartAgent(ctx, audit.Agent{ConversationID: tc.parent})
			}
			ctx, span := tr.StartAgent(ctx, tc.agent)
			span.End()

			require.Equal(t, tc.wantConv, audit.ConversationID(ctx))
			require.Equal(t, span.SpanContext(), trace.SpanContextFromContext(ctx), "agent span is active in ctx")
			s := byName(t, rec, tc.wantName)
			require.Equal(t, trace.SpanKindInternal, s.SpanKind())
			requireAttrs(t, spanAttrs(s), tc.want, tc.absent...)
		})
	}
}

// The package-level helpers and a nil provider use OpenTelemetry's global
// provider. Not parallel: it swaps that global for the test.
func TestGlobalProvider(t *testing.T) {
	tp, rec := newProvider(t)
	prev := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	otel.SetTracerProvider(tp)

	ctx, agent := audit.StartAgent(context.Background(), audit.Agent{Name: "a", ConversationID: "c-g"})
	_, turn := audit.StartTurn(ctx, audit.Turn{Model: "m"})
	turn.End()
	_, tool := startCall(t, audit.NewTracer(nil), ctx, audit.CallStart{Tool: "t1"})
	tool.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	var zero audit.Tracer
	_, tool2 := startCall(t, &zero, ctx, audit.CallStart{Tool: "t2"})
	tool2.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	agent.End()

	a := byName(t, rec, "invoke_agent a")
	for _, name := range []string{"chat m", "execute_tool t1", "execute_tool t2"} {
		s := byName(t, rec, name)
		require.Equal(t, a.SpanContext().SpanID(), s.Parent().SpanID(), name)
		requireAttrs(t, spanAttrs(s), map[string]any{"gen_ai.conversation.id": "c-g"})
	}
}
