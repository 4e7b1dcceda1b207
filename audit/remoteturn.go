package audit

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

// RemoteTurn is a model turn recorded in another process: the chat span of
// an MCP client's turn, say, as its request carried it across, with the id
// of the tool call it proposed and its conversation.
type RemoteTurn struct {
	// SpanContext is the remote chat span's context (a remote span
	// context, as a propagator extracts it).
	SpanContext trace.SpanContext
	// CallID is the id of the tool call the turn proposed.
	CallID string
	// ConversationID is the conversation the turn belongs to; it applies
	// unless ctx already has one.
	ConversationID string
}

// WithRemoteTurn returns a context in which a call with rt.CallID links to
// rt's chat span, as it would to a turn started in this process
// (StartTurn, TurnRecorder.Proposed): the execute_tool span a server
// records for a client's call then points back at the turn that proposed
// it, across processes. An invalid span context or an empty call id links
// nothing; the conversation id still applies.
//
// What a remote process sends is a claim: the link and the conversation
// id are for finding the call's prompt path, not for deciding anything.
func WithRemoteTurn(ctx context.Context, rt RemoteTurn) context.Context {
	if conv := clean(rt.ConversationID); conv != "" && ConversationID(ctx) == "" {
		ctx = withConversation(ctx, conv)
	}
	id := clean(rt.CallID)
	if !rt.SpanContext.IsValid() || id == "" {
		return ctx
	}
	r := &TurnRecorder{
		// A span that records nothing and only carries the remote context:
		// this process must not end, or add events to, another's span.
		span: trace.SpanFromContext(trace.ContextWithRemoteSpanContext(context.Background(), rt.SpanContext)),
		seen: map[string]struct{}{id: {}},
		ids:  []string{id},
	}
	return withTurn(ctx, r)
}
