package audit_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ztagent/ztagent/audit"
)

// One agent turn proposes a tool call; the call is authorized and runs. The
// chat and execute_tool spans are siblings, joined by a proposed_by link.
func Example() {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	tr := audit.NewTracer(tp)

	ctx, agent := tr.StartAgent(context.Background(), audit.Agent{Name: "support", ConversationID: "c-1"})
	turnCtx, turn := tr.StartTurn(ctx, audit.Turn{Model: "claude-x", Provider: "anthropic", Number: 1, Prompt: "triage my inbox"})
	turn.Proposed("call_1", "read_file")
	turn.End()

	// The guard records the call's action path: its span and its record.
	calls, err := audit.NewCallRecorder(tr, audit.NewJSONLines(io.Discard))
	if err != nil {
		panic(err)
	}
	callCtx, tool := calls.Start(turnCtx, audit.CallStart{Tool: "read_file", CallID: "call_1", Effect: "read", Risk: "low"})
	tool.StartDecision(callCtx)
	tool.Decided(audit.Verdict{Allow: true, Code: "allowed", PolicyID: "data.ztagent.decision"}, false)
	tool.CredentialIssued(audit.Credential{ID: "jti-1", Audience: "urn:ztagent:tool:read_file", TTL: time.Minute})
	tool.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	agent.End()

	names := map[trace.SpanID]string{}
	for _, s := range rec.Ended() {
		names[s.SpanContext().SpanID()] = s.Name()
	}
	for _, s := range rec.Ended() {
		line := fmt.Sprintf("%-28s parent=%q", s.Name(), names[s.Parent().SpanID()])
		for _, l := range s.Links() {
			line += fmt.Sprintf(" link=%q", names[l.SpanContext.SpanID()])
		}
		fmt.Println(line)
	}
	// Output:
	// chat claude-x                parent="invoke_agent support"
	// run_guardrail ztagent.authz  parent="execute_tool read_file"
	// execute_tool read_file       parent="invoke_agent support" link="chat claude-x"
	// invoke_agent support         parent=""
}

// Decision records are one JSON object per line.
func ExampleJSONLines() {
	sink := audit.NewJSONLines(os.Stdout)
	_ = sink.Write(context.Background(), &audit.Record{
		Time:    time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
		CallID:  "call_7",
		Tool:    "send_email",
		Effect:  "write",
		Allow:   false,
		Code:    "destination_not_allowed",
		Outcome: audit.StatusDenied,
	})
	// Output:
	// {"time":"2026-11-30T12:00:00Z","call_id":"call_7","tool":"send_email","effect":"write","allow":false,"code":"destination_not_allowed","outcome":"denied","duration_ms":0}
}
