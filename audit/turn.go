package audit

import (
	"context"
	"encoding/json"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Turn describes one model turn on the prompt path.
type Turn struct {
	// ConversationID overrides the id inherited from ctx (gen_ai.conversation.id).
	ConversationID string
	// Model is the requested model name (gen_ai.request.model).
	Model string
	// Provider is the GenAI provider, e.g. "anthropic" or "openai"
	// (gen_ai.provider.name). Optional.
	Provider string
	// Number is the turn's position in the conversation, from 1; 0 means
	// unknown and is not recorded.
	Number int
	// Prompt is digested (ztagent.prompt.digest); its text is not recorded,
	// because prompts routinely hold personal data and secrets.
	Prompt string
	// RecordPrompt opts in to recording the prompt text as well, in the
	// GenAI conventions' opt-in gen_ai.input.messages attribute. Only for
	// deployments whose trace backend may hold what users type.
	//
	// The text is recorded whole: unlike ids and model names it is not cut
	// to the package's bound, since a prompt cut at a few hundred bytes is
	// not the record this option asks for. Every exporter queue then holds
	// the whole prompt; to bound it, set the SDK's attribute value length
	// limit (sdktrace.WithRawSpanLimits, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT),
	// knowing that a value cut there is no longer valid JSON.
	RecordPrompt bool
}

// TurnRecorder is one "chat {model}" span and the tool calls its model turn
// proposed. It is safe for concurrent use. The zero value records nothing.
type TurnRecorder struct {
	span trace.Span

	mu    sync.Mutex
	ids   []string // proposal order, for ztagent.turn.tool_call_ids
	seen  map[string]struct{}
	ended bool
}

// StartTurn starts a "chat {model}" span (kind CLIENT: the model is called
// over the network) as a child of the active span in ctx.
//
// The returned ctx remembers the turn, so a tool call started from it (or from
// a context derived from it) links to the turn that proposed it, but its
// active span is still the parent's: execute_tool spans are siblings of chat
// spans under invoke_agent, not children of the turn.
func (t *Tracer) StartTurn(ctx context.Context, turn Turn) (context.Context, *TurnRecorder) {
	turn.ConversationID, turn.Model, turn.Provider = clean(turn.ConversationID), clean(turn.Model), clean(turn.Provider)
	conv := turn.ConversationID
	if conv == "" {
		conv = ConversationID(ctx)
	}
	attrs := []attribute.KeyValue{keyGenAIOperationName.String(opChat)}
	if turn.Model != "" {
		attrs = append(attrs, keyGenAIRequestModel.String(turn.Model))
	}
	if turn.Provider != "" {
		attrs = append(attrs, keyGenAIProviderName.String(turn.Provider))
	}
	if conv != "" {
		attrs = append(attrs, keyGenAIConversationID.String(conv))
	}
	if turn.Number > 0 {
		attrs = append(attrs, KeyTurnNumber.Int(turn.Number))
	}
	if turn.Prompt != "" {
		attrs = append(attrs, KeyPromptDigest.String(promptDigest(turn.Prompt)))
		if turn.RecordPrompt {
			attrs = append(attrs, keyGenAIInputMessages.String(inputMessages(turn.Prompt)))
		}
	}
	// The context carrying the chat span is dropped on purpose: see above.
	_, span := t.get().Start(ctx, spanName(opChat, turn.Model),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrs...))
	r := &TurnRecorder{span: span}
	return withConversation(withTurn(ctx, r), conv), r
}

func (r *TurnRecorder) spanOrNoop() trace.Span {
	if r == nil || r.span == nil {
		return noop.Span{}
	}
	return r.span
}

// Proposed records that the model proposed tool call callID of toolName: an
// event on the chat span, and a note the later execute_tool span links to.
// Calls proposed after End are still remembered for linking, but the ended
// span no longer takes events. An empty callID cannot be linked and only
// produces the event.
func (r *TurnRecorder) Proposed(callID, toolName string) {
	callID, toolName = clean(callID), clean(toolName)
	if r == nil {
		return
	}
	if callID != "" {
		r.mu.Lock()
		if r.seen == nil {
			r.seen = make(map[string]struct{})
		}
		if _, dup := r.seen[callID]; !dup {
			r.seen[callID] = struct{}{}
			r.ids = append(r.ids, callID)
		}
		r.mu.Unlock()
	}
	attrs := []attribute.KeyValue{keyGenAIToolName.String(toolName)}
	if callID != "" {
		attrs = append(attrs, keyGenAIToolCallID.String(callID))
	}
	r.spanOrNoop().AddEvent(EventToolCallProposed, trace.WithAttributes(attrs...))
}

func (r *TurnRecorder) proposed(callID string) bool {
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.seen[callID]
	return ok
}

// SpanContext returns the chat span's context (the target of proposed_by links).
func (r *TurnRecorder) SpanContext() trace.SpanContext {
	return r.spanOrNoop().SpanContext()
}

// End sets ztagent.turn.tool_call_ids and ends the chat span. Only the first
// call has an effect.
func (r *TurnRecorder) End() {
	if r == nil {
		return
	}
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	r.ended = true
	ids := append([]string(nil), r.ids...)
	r.mu.Unlock()

	span := r.spanOrNoop()
	if len(ids) > 0 {
		span.SetAttributes(KeyTurnToolCallIDs.StringSlice(ids))
	}
	span.End()
}

// inputMessages renders a prompt in the GenAI conventions' message shape.
func inputMessages(prompt string) string {
	b, _ := json.Marshal([]map[string]any{{
		"role":  "user",
		"parts": []map[string]string{{"type": "text", "content": prompt}},
	}})
	return string(b)
}
