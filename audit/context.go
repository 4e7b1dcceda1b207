package audit

import (
	"context"

	"go.opentelemetry.io/otel/trace"
)

type ctxKey int

const (
	conversationKey ctxKey = iota
	turnKey
)

// turnNode chains the turns seen along one context, newest first. A chain
// rather than a single value because a tool call may be executed with a
// context derived from a later turn than the one that proposed it.
type turnNode struct {
	rec  *TurnRecorder
	prev *turnNode
}

func withConversation(ctx context.Context, id string) context.Context {
	if id == "" || id == ConversationID(ctx) {
		return ctx
	}
	return context.WithValue(ctx, conversationKey, id)
}

// ConversationID returns the conversation id set by StartAgent or StartTurn on
// ctx or one of its parents, or "".
func ConversationID(ctx context.Context) string {
	id, _ := ctx.Value(conversationKey).(string)
	return id
}

func withTurn(ctx context.Context, r *TurnRecorder) context.Context {
	prev, _ := ctx.Value(turnKey).(*turnNode)
	return context.WithValue(ctx, turnKey, &turnNode{rec: r, prev: prev})
}

// ProposedBy finds the turn that proposed callID: the turn remembered in ctx or
// any earlier turn in its chain, newest first, so when a provider reuses call
// ids the most recent proposer wins. It reports false when no turn proposed
// callID or the turn's span context is invalid (for example with a no-op
// TracerProvider), since there is then nothing to link to.
func ProposedBy(ctx context.Context, callID string) (trace.SpanContext, bool) {
	return proposedBy(ctx, clean(callID)) // as Proposed stored it
}

// proposedBy is ProposedBy for a callID already cleaned.
func proposedBy(ctx context.Context, callID string) (trace.SpanContext, bool) {
	sc, _ := proposingTurn(ctx, callID)
	return sc, sc.IsValid()
}

// proposingTurn is the chat span of the turn that proposed callID (already
// cleaned), and whether a turn proposed it at all: a turn may have proposed
// it on a TracerProvider that records nothing, leaving no span to link to.
func proposingTurn(ctx context.Context, callID string) (trace.SpanContext, bool) {
	if callID == "" {
		return trace.SpanContext{}, false
	}
	n, _ := ctx.Value(turnKey).(*turnNode)
	for ; n != nil; n = n.prev {
		if n.rec.proposed(callID) {
			return n.rec.SpanContext(), true
		}
	}
	return trace.SpanContext{}, false
}
