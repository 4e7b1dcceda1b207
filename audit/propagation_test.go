package audit_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/ztagent/ztagent/audit"
)

func TestTraceContextCrossesProcessesOverHTTPAndMCP(t *testing.T) {
	tr, _ := newTracer(t)
	ctx, span := startCall(t, tr, context.Background(), audit.CallStart{Tool: "send_email", CallID: "call_1"})
	defer span.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	sc := span.SpanContext()

	h := http.Header{}
	audit.InjectHTTP(ctx, h)
	require.True(t, strings.Contains(h.Get("traceparent"), sc.TraceID().String()))

	meta := audit.InjectMCPMeta(ctx, nil)
	require.Contains(t, meta["traceparent"], sc.TraceID().String())
	// The MCP server side: spans started from the extracted context join the trace.
	server := audit.ExtractMCPMeta(context.Background(), map[string]any{"traceparent": meta["traceparent"], "other": 1})
	remote := trace.SpanContextFromContext(server)
	require.True(t, remote.IsRemote())
	require.Equal(t, sc.TraceID(), remote.TraceID())
	require.Equal(t, sc.SpanID(), remote.SpanID())

	// Nothing to extract: ctx unchanged.
	require.False(t, trace.SpanContextFromContext(audit.ExtractMCPMeta(context.Background(), nil)).IsValid())
	require.False(t, trace.SpanContextFromContext(audit.ExtractMCPMeta(context.Background(), map[string]any{"traceparent": 7})).IsValid())
}

func TestPromptTextOnlyWhenOptedIn(t *testing.T) {
	tr, rec := newTracer(t)
	_, r1 := tr.StartTurn(context.Background(), audit.Turn{Model: "m", Prompt: "secret plan"})
	r1.End()
	_, r2 := tr.StartTurn(context.Background(), audit.Turn{Model: "m", Prompt: "public question", RecordPrompt: true})
	r2.End()
	spans := rec.Ended()
	require.Len(t, spans, 2)
	_, has := spanAttrs(spans[0])["gen_ai.input.messages"]
	require.False(t, has)
	require.Contains(t, spanAttrs(spans[1])["gen_ai.input.messages"].AsString(), "public question")
}

// A framework (an agent SDK) already made the execute_tool span: the guard
// enriches it instead of nesting a duplicate, and does not end it.
func TestEnrichFrameworkToolSpan(t *testing.T) {
	tp, rec := newProvider(t)
	tr := audit.NewTracer(tp)
	ctx, turn := tr.StartTurn(context.Background(), audit.Turn{Model: "m"})
	turn.Proposed("call_9", "lookup")
	turn.End()
	fctx, framework := tp.Tracer("some-agent-sdk").Start(ctx, "execute_tool lookup")
	_, span := startCall(t, tr, fctx, audit.CallStart{Tool: "lookup", CallID: "call_9", Effect: "read"}, audit.WithEnrichedSpans())
	span.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	require.Len(t, rec.Ended(), 1, "only the chat span ended; the framework ends its own")
	framework.End()
	var tools int
	for _, s := range rec.Ended() {
		if s.Name() == "execute_tool lookup" {
			tools++
			require.Equal(t, "call_9", spanAttrs(s)["gen_ai.tool.call.id"].AsString())
			require.Equal(t, "ok", spanAttrs(s)["ztagent.outcome"].AsString())
			require.Len(t, s.Links(), 1)
			require.Equal(t, turn.SpanContext().SpanID(), s.Links()[0].SpanContext.SpanID())
		}
	}
	require.Equal(t, 1, tools, "no duplicate execute_tool span")

	// Without Enrich, or when the active span is not a tool span, a new span is made.
	_, own := startCall(t, tr, fctx, audit.CallStart{Tool: "lookup", CallID: "call_9"})
	own.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	octx, other := tp.Tracer("x").Start(context.Background(), "chat m")
	_, own2 := startCall(t, tr, octx, audit.CallStart{Tool: "lookup"}, audit.WithEnrichedSpans())
	own2.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	other.End()
	require.Len(t, rec.Ended(), 5)
}
