package audit

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Agent describes one agent invocation: the root of the prompt and action paths.
type Agent struct {
	// Name is the agent's human-readable name (gen_ai.agent.name).
	Name string
	// ConversationID groups the turns and calls of one conversation or
	// session (gen_ai.conversation.id). Optional.
	ConversationID string
}

// StartAgent starts an "invoke_agent {name}" span and makes it the active span
// of the returned ctx. The span kind is INTERNAL because the agent runs in this
// process. The conversation id, given or inherited from ctx, is remembered in
// the returned ctx for the turns and tool calls below. The caller ends the span.
func (t *Tracer) StartAgent(ctx context.Context, a Agent) (context.Context, trace.Span) {
	a.Name, a.ConversationID = clean(a.Name), clean(a.ConversationID)
	conv := a.ConversationID
	if conv == "" {
		conv = ConversationID(ctx)
	}
	attrs := []attribute.KeyValue{keyGenAIOperationName.String(opInvokeAgent)}
	if a.Name != "" {
		attrs = append(attrs, keyGenAIAgentName.String(a.Name))
	}
	if conv != "" {
		attrs = append(attrs, keyGenAIConversationID.String(conv))
	}
	ctx, span := t.get().Start(ctx, spanName(opInvokeAgent, a.Name),
		kindInternal,
		trace.WithAttributes(attrs...))
	return withConversation(ctx, conv), span
}
