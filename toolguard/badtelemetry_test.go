package toolguard_test

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ztagent/ztagent/toolguard"
)

// An exporter that is down and a full span queue cost the calls nothing:
// spans are exported off the call path, and every decision record is still
// written.
func TestExporterDownDoesNotBlockCallsOrLoseRecords(t *testing.T) {
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint("127.0.0.1:1"), otlptracehttp.WithInsecure(),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}), otlptracehttp.WithTimeout(time.Second))
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithMaxQueueSize(8)))
	f := newFixture(t, toolguard.WithTracerProvider(tp))
	fetch := wrap(t, f.guard, fetchTool, (&probe{}).fn)
	const n = 200
	for range n {
		_, err := fetch(context.Background(), toolDocArgs())
		require.NoError(t, err)
	}
	require.Len(t, f.sink.all(), n)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = tp.Shutdown(ctx) // the spans are lost with the exporter (reported to OTel's error handler); the records are not
}

func TestHugeInvalidCallIDIsBoundedEverywhere(t *testing.T) {
	f := newFixture(t)
	fetch := wrap(t, f.guard, fetchTool, (&probe{}).fn)
	id := strings.Repeat("\xff", 1<<20)
	_, err := fetch(toolguard.WithCall(context.Background(), id), toolDocArgs())
	require.NoError(t, err)
	rec := f.sink.last(t)
	require.True(t, utf8.ValidString(rec.CallID))
	require.LessOrEqual(t, len(rec.CallID), 256)
	for _, s := range f.spans.Ended() {
		for _, kv := range s.Attributes() {
			require.True(t, utf8.ValidString(kv.Value.String()))
		}
	}
}

func toolDocArgs() DocArgs { return DocArgs{URL: "https://docs.example.com/"} }
