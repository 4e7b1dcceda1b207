package audit

import (
	"context"
	"sync"
	"sync/atomic"

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
	names  spanNames
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

// kindInternal is the one span kind the audit spans use, made once: an
// option built per span is an allocation per span.
var kindInternal = trace.WithSpanKind(trace.SpanKindInternal)

// spanNames remembers "execute_tool {name}" per tool name, since a process
// calls the same few tools over and over. It stops remembering past
// maxSpanNames names (a name the model made up must not grow it forever).
type spanNames struct {
	m sync.Map // tool name → span name
	n atomic.Int64
}

const maxSpanNames = 1024

func (s *spanNames) get(tool string) string {
	if v, ok := s.m.Load(tool); ok {
		return v.(string)
	}
	name := spanName(opExecuteTool, tool)
	if s.n.Add(1) <= maxSpanNames {
		s.m.Store(tool, name)
	}
	return name
}

// toolSpanName is "execute_tool {name}".
func (t *Tracer) toolSpanName(name string) string {
	if t == nil {
		return spanName(opExecuteTool, name)
	}
	return t.names.get(name)
}
