package toolguard

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	"github.com/ztagent/ztagent/audit"
)

// StartTurn starts a model turn (its chat span) on the tracer the guard
// records calls with, so that the calls the turn proposes join its trace
// and link to it whatever TracerProvider the guard was given. audit.StartTurn
// uses the global provider: with a guard on another one (WithTracerProvider),
// the turn's span may record nothing and the calls cannot link to it, which
// Stats().UnlinkedCalls counts.
func (g *Guard) StartTurn(ctx context.Context, t audit.Turn) (context.Context, *audit.TurnRecorder) {
	if g == nil {
		return audit.StartTurn(ctx, t)
	}
	return g.calls.Tracer().StartTurn(ctx, t)
}

// StartAgent starts an invoke_agent span on the guard's tracer; see
// StartTurn.
func (g *Guard) StartAgent(ctx context.Context, a audit.Agent) (context.Context, trace.Span) {
	if g == nil {
		return audit.StartAgent(ctx, a)
	}
	return g.calls.Tracer().StartAgent(ctx, a)
}
