package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"
)

var (
	errNoLogger   = errors.New("audit: LogSink has no logger")
	errLogDropped = errors.New("audit: the OpenTelemetry logger does not emit decision records (no processor takes them)")
)

// LogSink is a Sink that emits each decision record as an OpenTelemetry log
// event, so decisions reach the same backend as the traces and can be found
// from the execute_tool span. It is safe for concurrent use.
//
// A logger that would drop the event (a no-op provider, or processors that
// all decline it) fails the Write, and the loss is counted. Once emitted, the
// event belongs to the OpenTelemetry SDK: export errors go to its error
// handler, not to Write. For strict auditing combine it with a durable sink
// such as [JSONLines] in a [MultiSink].
type LogSink struct {
	logger   log.Logger
	failures atomic.Uint64
}

// NewLogSink returns a LogSink on lp. A nil lp means the global
// LoggerProvider (otel.GetLoggerProvider), which is a no-op
// until one is set: every Write then fails instead of losing the record.
func NewLogSink(lp log.LoggerProvider) *LogSink {
	if lp == nil {
		lp = otel.GetLoggerProvider()
	}
	return &LogSink{logger: lp.Logger(instrumentationName)}
}

// Write emits r. The log record takes r.Time as its timestamp and the trace
// and span ids of r (when they parse) as its trace context, so a backend can
// join it to the execute_tool span; without them it takes ctx's. Severity is
// INFO for an allowed call and WARN for a denied one. ctx's cancellation is
// ignored, as in [JSONLines.Write].
func (s *LogSink) Write(ctx context.Context, r *Record) error {
	if s == nil || s.logger == nil {
		return errNoLogger
	}
	if err := s.emit(ctx, r); err != nil {
		s.failures.Add(1)
		return err
	}
	return nil
}

func (s *LogSink) emit(ctx context.Context, r *Record) error {
	if r == nil {
		return errNilRecord
	}
	ctx = recordContext(context.WithoutCancel(ctx), r)
	sev, sevText := log.SeverityInfo, "INFO"
	if !r.Allow {
		sev, sevText = log.SeverityWarn, "WARN"
	}
	if !s.logger.Enabled(ctx, log.EnabledParameters{Severity: sev, EventName: EventDecision}) {
		return errLogDropped
	}
	var lr log.Record
	lr.SetEventName(EventDecision)
	lr.SetTimestamp(r.Time)
	lr.SetSeverity(sev)
	lr.SetSeverityText(sevText)
	lr.SetBody(attribute.StringValue(summary(r)))
	lr.AddAttributes(recordAttributes(r)...)
	s.logger.Emit(ctx, lr)
	return nil
}

// Failures is the number of records Write could not emit.
func (s *LogSink) Failures() uint64 {
	if s == nil {
		return 0
	}
	return s.failures.Load()
}

// recordContext makes the record's own ids the trace context of the event:
// the record, not whatever span ctx happens to hold, says which call it is.
func recordContext(ctx context.Context, r *Record) context.Context {
	tid, err1 := trace.TraceIDFromHex(r.TraceID)
	sid, err2 := trace.SpanIDFromHex(r.SpanID)
	if err1 != nil || err2 != nil {
		return ctx
	}
	cfg := trace.SpanContextConfig{TraceID: tid, SpanID: sid}
	if cur := trace.SpanContextFromContext(ctx); cur.TraceID() == tid {
		cfg.TraceFlags = cur.TraceFlags()
	}
	return trace.ContextWithSpanContext(ctx, trace.NewSpanContext(cfg))
}

// summary is the human line of the event; the attributes hold the data.
func summary(r *Record) string {
	s := verdictName(r.Allow) + " " + r.Tool
	if r.Code != "" {
		s += " (" + r.Code + ")"
	}
	return s + ": " + r.Outcome
}

func recordAttributes(r *Record) []attribute.KeyValue {
	verdict := verdictName(r.Allow)
	attrs := []attribute.KeyValue{
		keyGenAIOperationName.String(opExecuteTool),
		keyGenAIToolName.String(r.Tool),
		KeyGuardrailVerdict.String(verdict),
		KeyOutcome.String(r.Outcome),
		KeyCallDurationMS.Float64(r.DurationMS),
	}
	str := func(k attribute.Key, v string) {
		if v != "" {
			attrs = append(attrs, k.String(v))
		}
	}
	str(keyGenAIToolCallID, r.CallID)
	str(keyGenAIConversationID, r.ConversationID)
	str(KeyProposedBySpanID, r.ProposedBySpan)
	str(KeyToolEffect, r.Effect)
	str(KeyToolRisk, r.Risk)
	str(KeySubjectSPIFFEID, r.Subject)
	str(KeySVIDSerial, r.SVIDSerial)
	str(KeyPeerID, r.Peer)
	str(KeyArgsDigest, r.ArgsDigest)
	str(KeyDecisionCode, r.Code)
	str(KeyPolicyID, r.PolicyID)
	str(KeyPolicyRevision, r.PolicyRevision)
	str(KeyApprovalStatus, r.Approval)
	str(KeyCredentialID, r.CredentialID)
	str(KeyCredentialAudience, r.CredentialAudience)
	str(KeyOutcomeError, r.Error)
	if r.CredentialTTLSeconds != 0 {
		attrs = append(attrs, KeyCredentialTTLSeconds.Float64(r.CredentialTTLSeconds))
	}
	if len(r.Untrusted) > 0 {
		attrs = append(attrs, KeyProvenanceUntrusted.StringSlice(r.Untrusted))
	}
	if len(r.Destinations) > 0 {
		attrs = append(attrs, KeyDestinations.StringSlice(r.Destinations))
	}
	if len(r.Reasons) > 0 {
		codes, msgs := make([]string, len(r.Reasons)), make([]string, len(r.Reasons))
		for i, rs := range r.Reasons {
			codes[i], msgs[i] = rs.Code, rs.Message
		}
		attrs = append(attrs, KeyDecisionReasons.StringSlice(codes), KeyDecisionMessages.StringSlice(msgs))
	}
	if r.Outcome != StatusOK && r.Outcome != StatusAuthorized {
		attrs = append(attrs, keyErrorType.String(errorType(r.Outcome, r.Code)))
	}
	if r.Shadow != nil {
		attrs = append(attrs, r.Shadow.attributes()...)
	}
	if r.Args != nil {
		attrs = append(attrs, KeyArgsValues.Map(mapValue(r.Args)...))
	}
	return attrs
}

// mapValue converts decoded JSON to attribute values, keys sorted so equal
// records give equal events.
func mapValue(m map[string]any) []attribute.KeyValue {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	kvs := make([]attribute.KeyValue, len(keys))
	for i, k := range keys {
		kvs[i] = attribute.KeyValue{Key: attribute.Key(k), Value: anyValue(m[k])}
	}
	return kvs
}

func anyValue(v any) attribute.Value {
	switch x := v.(type) {
	case nil:
		return attribute.Value{}
	case string:
		return attribute.StringValue(x)
	case bool:
		return attribute.BoolValue(x)
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return attribute.Int64Value(i)
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return attribute.Float64Value(f)
		}
		return attribute.StringValue(string(x))
	case float64:
		return attribute.Float64Value(x)
	case int:
		return attribute.IntValue(x)
	case int64:
		return attribute.Int64Value(x)
	case map[string]any:
		return attribute.MapValue(mapValue(x)...)
	case []any:
		vals := make([]attribute.Value, len(x))
		for i, e := range x {
			vals[i] = anyValue(e)
		}
		return attribute.SliceValue(vals...)
	default:
		// Not from decoded JSON: keep it as the JSON a JSONLines sink would write.
		b, err := json.Marshal(x)
		if err != nil {
			return attribute.StringValue(fmt.Sprintf("%T", x))
		}
		return attribute.StringValue(string(b))
	}
}
