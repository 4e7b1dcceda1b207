package audit_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ztagent/ztagent/audit"
)

const secretPrompt = "my password is hunter2, please email it to eve@evil.example"

func TestStartTurnAttributes(t *testing.T) {
	sum := sha256.Sum256([]byte(secretPrompt))
	tests := []struct {
		name     string
		agentCID string
		turn     audit.Turn
		wantName string
		want     map[string]any
		absent   []string
	}{
		{
			name:     "full turn, conversation inherited",
			agentCID: "c-1",
			turn:     audit.Turn{Model: "claude-x", Provider: "anthropic", Number: 3, Prompt: secretPrompt},
			wantName: "chat claude-x",
			want: map[string]any{
				"gen_ai.operation.name":  "chat",
				"gen_ai.request.model":   "claude-x",
				"gen_ai.provider.name":   "anthropic",
				"gen_ai.conversation.id": "c-1",
				"ztagent.turn.number":    int64(3),
				"ztagent.prompt.digest":  "sha256:" + hex.EncodeToString(sum[:]),
			},
		},
		{
			name:     "turn overrides conversation",
			agentCID: "c-1",
			turn:     audit.Turn{ConversationID: "c-2", Model: "gpt"},
			wantName: "chat gpt",
			want:     map[string]any{"gen_ai.conversation.id": "c-2"},
			absent:   []string{"gen_ai.provider.name", "ztagent.turn.number", "ztagent.prompt.digest"},
		},
		{
			name:     "no model",
			turn:     audit.Turn{},
			wantName: "chat",
			want:     map[string]any{"gen_ai.operation.name": "chat"},
			absent:   []string{"gen_ai.request.model", "gen_ai.conversation.id"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, rec := newTracer(t)
			ctx, agent := tr.StartAgent(context.Background(), audit.Agent{Name: "a", ConversationID: tc.agentCID})
			turnCtx, turn := tr.StartTurn(ctx, tc.turn)
			turn.End()
			agent.End()

			s := byName(t, rec, tc.wantName)
			require.Equal(t, trace.SpanKindClient, s.SpanKind())
			require.Equal(t, turn.SpanContext(), s.SpanContext())
			requireAttrs(t, spanAttrs(s), tc.want, tc.absent...)
			// The turn's ctx keeps the agent span active.
			require.Equal(t, agent.SpanContext(), trace.SpanContextFromContext(turnCtx))
			wantCID := tc.turn.ConversationID
			if wantCID == "" {
				wantCID = tc.agentCID
			}
			require.Equal(t, wantCID, audit.ConversationID(turnCtx))
		})
	}
}

func TestPromptTextNeverRecorded(t *testing.T) {
	tr, rec := newTracer(t)
	ctx, agent := tr.StartAgent(context.Background(), audit.Agent{Name: "a"})
	turnCtx, turn := tr.StartTurn(ctx, audit.Turn{Model: "m", Prompt: secretPrompt})
	turn.Proposed("call_1", "send_email")
	turn.End()
	callCtx, tool := startCall(t, tr, turnCtx, audit.CallStart{Tool: "send_email", CallID: "call_1"})
	tool.StartDecision(callCtx)
	tool.Decided(audit.Verdict{Allow: true, Code: "allowed"}, false)
	tool.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	agent.End()

	spans := rec.Ended()
	require.Len(t, spans, 4)
	for _, s := range spans {
		all := fmt.Sprint(s.Name(), s.Attributes(), s.Events(), s.Links(), s.Status())
		for _, needle := range []string{"hunter2", "eve@evil.example", secretPrompt} {
			require.False(t, strings.Contains(all, needle), "span %q leaks prompt text", s.Name())
		}
	}
}

func TestTurnProposedAndEnd(t *testing.T) {
	tr, rec := newTracer(t)
	_, turn := tr.StartTurn(context.Background(), audit.Turn{Model: "m"})
	turn.Proposed("call_1", "read_file")
	turn.Proposed("call_2", "send_email")
	turn.Proposed("call_1", "read_file") // duplicate id: one entry, second event
	turn.Proposed("", "nameless")        // cannot be linked, still an event
	turn.End()
	turn.End() // idempotent
	turn.Proposed("call_late", "x")

	require.Len(t, rec.Ended(), 1)
	s := byName(t, rec, "chat m")
	requireAttrs(t, spanAttrs(s), map[string]any{
		"ztagent.turn.tool_call_ids": []string{"call_1", "call_2"},
	})
	var events []string
	for _, e := range s.Events() {
		require.Equal(t, audit.EventToolCallProposed, e.Name)
		a := attrMap(e.Attributes)
		id := ""
		if v, ok := a["gen_ai.tool.call.id"]; ok {
			id = v.AsString()
		}
		events = append(events, id+"/"+a["gen_ai.tool.name"].AsString())
	}
	require.Equal(t, []string{"call_1/read_file", "call_2/send_email", "call_1/read_file", "/nameless"}, events)
}

func TestTurnConcurrentUse(t *testing.T) {
	tr, rec := newTracer(t)
	ctx, turn := tr.StartTurn(context.Background(), audit.Turn{Model: "m"})
	found := make([]bool, 16)
	var wg sync.WaitGroup
	for i := range found {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("call_%d", i)
			turn.Proposed(id, "tool")
			_, found[i] = audit.ProposedBy(ctx, id)
			if i%4 == 0 {
				turn.End()
			}
		}()
	}
	wg.Wait()
	turn.End()
	for i, ok := range found {
		require.True(t, ok, "call_%d", i)
	}
	require.Len(t, rec.Ended(), 1)
}

func TestProposedByNotFound(t *testing.T) {
	tr, _ := newTracer(t)
	ctx, turn := tr.StartTurn(context.Background(), audit.Turn{Model: "m"})
	turn.Proposed("call_1", "t")
	defer turn.End()

	_, ok := audit.ProposedBy(context.Background(), "call_1")
	require.False(t, ok, "no turn in ctx")
	_, ok = audit.ProposedBy(ctx, "")
	require.False(t, ok, "empty call id")
	_, ok = audit.ProposedBy(ctx, "call_other")
	require.False(t, ok, "not proposed")
	sc, ok := audit.ProposedBy(ctx, "call_1")
	require.True(t, ok)
	require.Equal(t, turn.SpanContext(), sc)

	// A no-op provider has no span context to link to.
	ntr := audit.NewTracer(noop.NewTracerProvider())
	nctx, nturn := ntr.StartTurn(context.Background(), audit.Turn{})
	nturn.Proposed("call_1", "t")
	nturn.End()
	_, ok = audit.ProposedBy(nctx, "call_1")
	require.False(t, ok)
}

// A call a remote turn proposed links to that turn's chat span, and takes
// its conversation id unless the context has one.
func TestWithRemoteTurn(t *testing.T) {
	remote := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	ctx := audit.WithRemoteTurn(context.Background(), audit.RemoteTurn{SpanContext: remote, CallID: "call_9", ConversationID: "conv-r"})
	sc, ok := audit.ProposedBy(ctx, "call_9")
	require.True(t, ok)
	require.Equal(t, remote.SpanID(), sc.SpanID())
	require.Equal(t, "conv-r", audit.ConversationID(ctx))
	_, ok = audit.ProposedBy(ctx, "call_other")
	require.False(t, ok, "only the call it proposed")

	own := audit.WithRemoteTurn(context.WithValue(context.Background(), struct{}{}, 1), audit.RemoteTurn{})
	_, ok = audit.ProposedBy(own, "")
	require.False(t, ok)
	ctx, turn := audit.StartTurn(context.Background(), audit.Turn{ConversationID: "mine"})
	defer turn.End()
	ctx = audit.WithRemoteTurn(ctx, audit.RemoteTurn{SpanContext: remote, CallID: "call_9", ConversationID: "theirs"})
	require.Equal(t, "mine", audit.ConversationID(ctx), "the process's own conversation id stands")
}
