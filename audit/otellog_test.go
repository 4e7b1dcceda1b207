package audit_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	lognoop "go.opentelemetry.io/otel/log/noop"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/trace"

	"github.com/ztagent/ztagent/audit"
)

// logRecorder is an sdk/log Processor that keeps what it is given.
type logRecorder struct {
	mu      sync.Mutex
	records []sdklog.Record
	decline bool // Enabled says no, like a filtering processor
}

func (p *logRecorder) OnEmit(_ context.Context, r *sdklog.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records = append(p.records, r.Clone())
	return nil
}

func (p *logRecorder) Enabled(context.Context, sdklog.EnabledParameters) bool { return !p.decline }
func (p *logRecorder) Shutdown(context.Context) error                         { return nil }
func (p *logRecorder) ForceFlush(context.Context) error                       { return nil }

func (p *logRecorder) emitted() []sdklog.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]sdklog.Record(nil), p.records...)
}

func newLogSink(t *testing.T, decline bool) (*audit.LogSink, *logRecorder) {
	t.Helper()
	rec := &logRecorder{decline: decline}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(rec))
	t.Cleanup(func() { require.NoError(t, lp.Shutdown(context.Background())) })
	return audit.NewLogSink(lp), rec
}

func logAttrs(r sdklog.Record) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	r.WalkAttributes(func(kv attribute.KeyValue) bool {
		m[string(kv.Key)] = kv.Value
		return true
	})
	return m
}

const (
	testTraceID = "0af7651916cd43dd8448eb211c80319c"
	testSpanID  = "b7ad6b7169203331"
)

func TestLogSink(t *testing.T) {
	when := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		record   audit.Record
		wantSev  otellog.Severity
		wantBody string
		want     map[string]any
		absent   []string
	}{
		{
			name: "allowed",
			record: audit.Record{
				Time: when, TraceID: testTraceID, SpanID: testSpanID, ProposedBySpan: "00f067aa0ba902b7",
				ConversationID: "c-1", CallID: "call_7", Tool: "send_email", Effect: "write", Risk: "high",
				Subject: "spiffe://example.org/agent/support", SVIDSerial: "1f", ArgsDigest: "sha256:ab",
				Args:         map[string]any{"to": "bob@example.com", "n": json.Number("3"), "x": json.Number("1.5"), "body": audit.Redacted, "list": []any{"a", true, nil}, "h": map[string]any{"k": "v"}},
				Destinations: []string{"https://mail.example.com:443"},
				Untrusted:    []string{"call.args.body<-untrusted:email@call_3"},
				Allow:        true, Code: "allowed",
				Reasons:  []audit.Reason{{Code: "allowed", Message: "granted"}},
				PolicyID: "data.ztagent.decision", PolicyRevision: "sha256:cd", Approval: "approved",
				CredentialID: "jti-1", CredentialAudience: "https://mail.example.com", CredentialTTLSeconds: 60,
				Shadow:  &audit.Shadow{Revision: "sha256:ef", Allow: false, Code: "nope", Flip: "allow_to_deny"},
				Outcome: audit.StatusOK, DurationMS: 12.5,
			},
			wantSev:  otellog.SeverityInfo,
			wantBody: "allow send_email (allowed): ok",
			want: map[string]any{
				"gen_ai.operation.name":        "execute_tool",
				"gen_ai.tool.name":             "send_email",
				"gen_ai.tool.call.id":          "call_7",
				"gen_ai.conversation.id":       "c-1",
				"ztagent.proposed_by.span_id":  "00f067aa0ba902b7",
				"ztagent.tool.effect":          "write",
				"ztagent.tool.risk":            "high",
				"ztagent.subject.spiffe_id":    "spiffe://example.org/agent/support",
				"ztagent.svid.serial":          "1f",
				"ztagent.args.digest":          "sha256:ab",
				"ztagent.destinations":         []string{"https://mail.example.com:443"},
				"ztagent.provenance.untrusted": []string{"call.args.body<-untrusted:email@call_3"},
				"ztagent.guardrail.verdict":    "allow",
				"ztagent.decision.code":        "allowed",
				"ztagent.decision.reasons":     []string{"allowed"},
				"ztagent.decision.messages":    []string{"granted"},
				"ztagent.policy.id":            "data.ztagent.decision",
				"ztagent.policy.revision":      "sha256:cd",
				"ztagent.approval.status":      "approved",
				"ztagent.credential.id":        "jti-1",
				"ztagent.credential.audience":  "https://mail.example.com",
				"ztagent.credential.ttl_s":     60.0,
				"ztagent.shadow.revision":      "sha256:ef",
				"ztagent.shadow.verdict":       "deny",
				"ztagent.shadow.flip":          "allow_to_deny",
				"ztagent.outcome":              "ok",
				"ztagent.call.duration_ms":     12.5,
			},
			absent: []string{"error.type", "ztagent.outcome.error"},
		},
		{
			name: "denied",
			record: audit.Record{
				Time: when, TraceID: testTraceID, SpanID: testSpanID, CallID: "call_8", Tool: "rm", Effect: "destructive",
				Allow: false, Code: "tool_not_granted", Outcome: audit.StatusDenied, Error: "the policy denied the call",
			},
			wantSev:  otellog.SeverityWarn,
			wantBody: "deny rm (tool_not_granted): denied",
			want: map[string]any{
				"ztagent.guardrail.verdict": "deny",
				"ztagent.outcome":           "denied",
				"ztagent.outcome.error":     "the policy denied the call",
				"error.type":                "tool_not_granted",
			},
			absent: []string{"ztagent.args.values", "ztagent.credential.id", "ztagent.decision.reasons", "gen_ai.conversation.id", "ztagent.shadow.verdict", "ztagent.credential.ttl_s"},
		},
		{
			name:     "authorized, before the tool runs",
			record:   audit.Record{Time: when, TraceID: testTraceID, SpanID: testSpanID, Tool: "t", Allow: true, Outcome: audit.StatusAuthorized},
			wantSev:  otellog.SeverityInfo,
			wantBody: "allow t: authorized",
			want:     map[string]any{"ztagent.outcome": "authorized"},
			absent:   []string{"error.type"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink, rec := newLogSink(t, false)
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a canceled call is still recorded
			require.NoError(t, sink.Write(ctx, &tc.record))
			got := rec.emitted()
			require.Len(t, got, 1)
			lr := got[0]
			require.Equal(t, audit.EventDecision, lr.EventName())
			require.Equal(t, tc.wantSev, lr.Severity())
			require.Equal(t, tc.wantBody, lr.Body().AsString())
			require.True(t, tc.record.Time.Equal(lr.Timestamp()))
			require.Equal(t, testTraceID, lr.TraceID().String())
			require.Equal(t, testSpanID, lr.SpanID().String())
			require.Equal(t, "github.com/ztagent/ztagent/audit", lr.InstrumentationScope().Name)
			attrs := logAttrs(lr)
			requireAttrs(t, attrs, tc.want, tc.absent...)
			if tc.record.Args != nil {
				args := map[string]attribute.Value{}
				for _, kv := range attrs["ztagent.args.values"].AsMap() {
					args[string(kv.Key)] = kv.Value
				}
				require.Equal(t, "bob@example.com", args["to"].AsString())
				require.Equal(t, int64(3), args["n"].AsInt64())
				require.Equal(t, 1.5, args["x"].AsFloat64())
				require.Equal(t, audit.Redacted, args["body"].AsString())
				require.Len(t, args["list"].AsSlice(), 3)
				require.Equal(t, "v", args["h"].AsMap()[0].Value.AsString())
			}
			require.Zero(t, sink.Failures())
		})
	}
}

// Without ids in the record the event keeps the trace context of ctx.
func TestLogSinkContextTrace(t *testing.T) {
	sink, rec := newLogSink(t, false)
	tid, _ := trace.TraceIDFromHex(testTraceID)
	sid, _ := trace.SpanIDFromHex(testSpanID)
	ctx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
	}))
	require.NoError(t, sink.Write(ctx, &audit.Record{Tool: "t", Allow: true, Outcome: audit.StatusOK}))
	require.NoError(t, sink.Write(ctx, &audit.Record{Tool: "t", TraceID: testTraceID, SpanID: "00f067aa0ba902b7", Outcome: audit.StatusDenied}))
	got := rec.emitted()
	require.Len(t, got, 2)
	require.Equal(t, testSpanID, got[0].SpanID().String())
	require.Equal(t, "00f067aa0ba902b7", got[1].SpanID().String(), "the record's ids win")
	require.True(t, got[1].TraceFlags().IsSampled(), "flags kept for the same trace")
}

func TestLogSinkFailures(t *testing.T) {
	declining, rec := newLogSink(t, true)
	tests := []struct {
		name    string
		sink    *audit.LogSink
		record  *audit.Record
		wantMsg string
	}{
		{"noop provider", audit.NewLogSink(lognoop.NewLoggerProvider()), &audit.Record{}, "does not emit decision records"},
		{"global provider unset", audit.NewLogSink(nil), &audit.Record{}, "does not emit decision records"},
		{"processor declines", declining, &audit.Record{}, "does not emit decision records"},
		{"nil record", audit.NewLogSink(lognoop.NewLoggerProvider()), nil, "audit: nil record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, tc.sink.Write(context.Background(), tc.record), tc.wantMsg)
			require.Equal(t, uint64(1), tc.sink.Failures())
		})
	}
	require.Empty(t, rec.emitted())

	var nilSink *audit.LogSink
	require.EqualError(t, nilSink.Write(context.Background(), &audit.Record{}), "audit: LogSink has no logger")
	require.Zero(t, nilSink.Failures())
}
