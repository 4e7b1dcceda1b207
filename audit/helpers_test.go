package audit_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ztagent/ztagent/audit"
)

// newProvider returns a fresh SDK provider whose spans all go to the recorder.
func newProvider(t *testing.T, opts ...sdktrace.TracerProviderOption) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	opts = append(opts, sdktrace.WithSpanProcessor(rec))
	tp := sdktrace.NewTracerProvider(opts...)
	t.Cleanup(func() { require.NoError(t, tp.Shutdown(context.Background())) })
	return tp, rec
}

// newTracer returns a Tracer on newProvider.
func newTracer(t *testing.T, opts ...sdktrace.TracerProviderOption) (*audit.Tracer, *tracetest.SpanRecorder) {
	t.Helper()
	tp, rec := newProvider(t, opts...)
	return audit.NewTracer(tp), rec
}

func attrMap(kvs []attribute.KeyValue) map[string]attribute.Value {
	m := make(map[string]attribute.Value, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	return attrMap(s.Attributes())
}

// byName returns the single ended span with the given name.
func byName(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	var found []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == name {
			found = append(found, s)
		}
	}
	require.Len(t, found, 1, "spans named %q", name)
	return found[0]
}

func eventNamed(t *testing.T, s sdktrace.ReadOnlySpan, name string) sdktrace.Event {
	t.Helper()
	for _, e := range s.Events() {
		if e.Name == name {
			return e
		}
	}
	require.Failf(t, "event not found", "%q on span %q", name, s.Name())
	return sdktrace.Event{}
}

// requireAttrs checks that every expected attribute is present with its value
// and that every key in absent is missing.
func requireAttrs(t *testing.T, got map[string]attribute.Value, want map[string]any, absent ...string) {
	t.Helper()
	for k, v := range want {
		g, ok := got[k]
		require.True(t, ok, "attribute %q missing; have %v", k, got)
		require.Equal(t, v, g.AsInterface(), "attribute %q", k)
	}
	for _, k := range absent {
		_, ok := got[k]
		require.False(t, ok, "attribute %q should be absent", k)
	}
}

// memSink keeps records in memory.
type memSink struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (s *memSink) Write(_ context.Context, r *audit.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, *r)
	return nil
}

func (s *memSink) all() []audit.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]audit.Record(nil), s.recs...)
}

// startCall starts a call recorded on tr, its records discarded.
func startCall(t testing.TB, tr *audit.Tracer, ctx context.Context, s audit.CallStart, opts ...audit.CallOption) (context.Context, *audit.Call) {
	t.Helper()
	r, err := audit.NewCallRecorder(tr, audit.SinkFunc(func(context.Context, *audit.Record) error { return nil }), opts...)
	require.NoError(t, err)
	return r.Start(ctx, s)
}
