package audit

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName is the instrumentation scope of every span this package makes.
const instrumentationName = "github.com/ztagent/ztagent/audit"

// Tracer makes the spans of the prompt path and the action path. Build it once
// and share it; it is safe for concurrent use. The zero value uses the global
// TracerProvider.
type Tracer struct {
	tracer trace.Tracer
}

// NewTracer returns a Tracer on tp. A nil tp means otel.GetTracerProvider(),
// which keeps following the global provider if it is set later.
func NewTracer(tp trace.TracerProvider) *Tracer {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return &Tracer{tracer: tp.Tracer(instrumentationName)}
}

func (t *Tracer) get() trace.Tracer {
	if t == nil || t.tracer == nil {
		return otel.GetTracerProvider().Tracer(instrumentationName)
	}
	return t.tracer
}

// StartAgent is [Tracer.StartAgent] on the global TracerProvider.
func StartAgent(ctx context.Context, a Agent) (context.Context, trace.Span) {
	return NewTracer(nil).StartAgent(ctx, a)
}

// StartTurn is [Tracer.StartTurn] on the global TracerProvider.
func StartTurn(ctx context.Context, turn Turn) (context.Context, *TurnRecorder) {
	return NewTracer(nil).StartTurn(ctx, turn)
}
