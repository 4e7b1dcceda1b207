package audit

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// toolSpanStart is what a tool span starts with (see CallStart).
type toolSpanStart struct {
	name, callID, effect, risk, argsDigest, peer string
	enrich                                       bool
	identity                                     []attribute.KeyValue
}

func appendIdentity(attrs []attribute.KeyValue, spiffeID, serial string, notAfter time.Time) []attribute.KeyValue {
	attrs = append(attrs, KeySubjectSPIFFEID.String(spiffeID))
	if serial != "" {
		attrs = append(attrs, KeySVIDSerial.String(serial))
	}
	if !notAfter.IsZero() {
		attrs = append(attrs, KeySVIDExpiresAt.String(notAfter.UTC().Format(time.RFC3339)))
	}
	return attrs
}

// toolSpan is one "execute_tool {name}" span, written by its Call. Its
// methods are safe for concurrent use. The zero value records nothing.
//
// Attributes learnt during the call (verdict, credential, outcome) are
// collected and set on the span in one call when it ends, so the SDK grows
// the span's attribute list once rather than at every step; exporters see
// the same attributes, since a span is exported when it ends. Events are
// added as they happen.
type toolSpan struct {
	span     trace.Span
	tracer   trace.Tracer
	borrowed bool // the framework's span: enriched, not ended, by us

	proposedBy trace.SpanContext // the proposing turn's chat span, if any
	unlinked   bool              // a turn proposed the call, but its span was not recorded

	mu      sync.Mutex
	ended   bool                 // End ran (only the first one counts); later attributes go straight to the span
	pending []attribute.KeyValue // guarded by mu
	buf     [toolSpanAttrs]attribute.KeyValue
	opts    [3]trace.SpanStartOption // the start options, kept here rather than in one more allocation
}

// toolSpanAttrs is room, inside the ToolSpan, for the start attributes of a
// usual call and, once the span has started, for those set later; more
// spill to the heap.
const toolSpanAttrs = 16

// set records attributes on the span: at End, or now if it has ended.
func (s *toolSpan) set(attrs ...attribute.KeyValue) {
	if s == nil || s.span == nil {
		return
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		// A copy, so the caller's variadic slice does not escape and the
		// usual case (before End) allocates nothing for it.
		s.span.SetAttributes(slices.Clone(attrs)...)
		return
	}
	s.pending = append(s.pending, attrs...)
	s.mu.Unlock()
}

// startToolSpan starts an "execute_tool {name}" span (kind INTERNAL) as a
// child of the active span in ctx and makes it the active span of the
// returned ctx, so spans made by the tool itself (HTTP clients, databases)
// nest under it. When a turn remembered in ctx proposed the call, the span
// links to that turn's chat span with ztagent.link.kind=proposed_by.
//
// It fills in ts, which the caller holds inside its own allocation (Call).
func (t *Tracer) startToolSpan(ctx context.Context, ts *toolSpan, c toolSpanStart) context.Context {
	// The start attributes are built in ts.buf. Starting a span copies them
	// (trace.NewSpanStartConfig appends them to the span's own config, and
	// SetAttributes copies too), so once the span has started ts.buf holds
	// the attributes set later.
	attrs := append(ts.buf[:0],
		keyGenAIOperationName.String(opExecuteTool),
		keyGenAIToolType.String(toolTypeFunction),
	)
	if c.name != "" {
		attrs = append(attrs, keyGenAIToolName.String(c.name))
	}
	if c.callID != "" {
		attrs = append(attrs, keyGenAIToolCallID.String(c.callID))
	}
	if conv := ConversationID(ctx); conv != "" {
		attrs = append(attrs, keyGenAIConversationID.String(conv))
	}
	if c.effect != "" {
		attrs = append(attrs, KeyToolEffect.String(c.effect))
	}
	if c.risk != "" {
		attrs = append(attrs, KeyToolRisk.String(c.risk))
	}
	if c.argsDigest != "" {
		attrs = append(attrs, KeyArgsDigest.String(c.argsDigest))
	}
	if c.peer != "" {
		attrs = append(attrs, KeyPeerID.String(c.peer))
	}
	attrs = append(attrs, c.identity...)
	link, proposed := proposingTurn(ctx, c.callID) // cleaned by the caller
	linked := link.IsValid()
	ts.unlinked = proposed && !linked
	if ts.unlinked {
		attrs = append(attrs, KeyLinkMissing.String(linkMissingTurnNotRecorded))
	}
	pl := trace.Link{SpanContext: link, Attributes: proposedByAttrs}
	ts.proposedBy, ts.tracer = link, t.get()
	if existing := trace.SpanFromContext(ctx); c.enrich && isToolSpan(existing) {
		existing.SetAttributes(attrs...)
		if linked {
			existing.AddLink(pl)
		}
		ts.span, ts.borrowed = existing, true
	} else {
		opts := append(ts.opts[:0], kindInternal, trace.WithAttributes(attrs...))
		if linked {
			opts = append(opts, trace.WithLinks(pl))
		}
		ctx, ts.span = ts.tracer.Start(ctx, t.toolSpanName(c.name), opts...)
	}
	ts.pending = ts.buf[:0] // the span has copied attrs: buf is free
	ts.unlinked = ts.unlinked && ts.span.IsRecording()
	return ctx
}

// proposedByAttrs are the attributes of every proposed_by link; the SDK
// copies what it keeps, so one slice serves all links.
var proposedByAttrs = []attribute.KeyValue{KeyLinkKind.String(LinkKindProposedBy)}

func (s *toolSpan) spanOrNoop() trace.Span {
	if s == nil || s.span == nil {
		return noop.Span{}
	}
	return s.span
}

func (s *toolSpan) tracerOrNoop() trace.Tracer {
	if s == nil || s.tracer == nil {
		return noop.NewTracerProvider().Tracer(instrumentationName)
	}
	return s.tracer
}

// SpanContext returns the execute_tool span's context, for decision records.
func (s *toolSpan) SpanContext() trace.SpanContext {
	return s.spanOrNoop().SpanContext()
}

// approvalRequested adds the ztagent.approval.requested event.
func (s *toolSpan) approvalRequested(reason string) {
	s.spanOrNoop().AddEvent(EventApprovalRequested,
		trace.WithAttributes(KeyApprovalReason.String(reason)))
}

// approvalResolved adds the ztagent.approval.resolved event and sets
// ztagent.approval.status ("approved" or "refused") on the span.
func (s *toolSpan) approvalResolved(approved bool, by, reason string) {
	status := "refused"
	if approved {
		status = "approved"
	}
	span := s.spanOrNoop()
	span.AddEvent(EventApprovalResolved, trace.WithAttributes(
		KeyApprovalApproved.Bool(approved),
		KeyApprovalBy.String(by),
		KeyApprovalReason.String(reason),
	))
	s.set(KeyApprovalStatus.String(status))
}

// credentialIssued adds the ztagent.credential.issued event and sets
// ztagent.credential.id on the span. It takes the id, never the token.
func (s *toolSpan) credentialIssued(id, audience string, ttl time.Duration) {
	s.spanOrNoop().AddEvent(EventCredentialIssued, trace.WithAttributes(
		KeyCredentialID.String(id),
		KeyCredentialAudience.String(audience),
		KeyCredentialTTLSeconds.Float64(ttl.Seconds()),
	))
	s.set(KeyCredentialID.String(id))
}

// credentialReused records that the call used a credential issued earlier
// (a task's shared credential): ztagent.credential.id and
// ztagent.credential.reused=true on the span, and no event, since nothing was
// issued for this call.
func (s *toolSpan) credentialReused(id string) {
	s.set(KeyCredentialID.String(id), KeyCredentialReused.Bool(true))
}

// credentialRevoked adds the ztagent.credential.revoked event. A non-nil err
// means the credential stays valid until it expires; that is recorded on the
// event and as ztagent.credential.revoke.ok=false on the span.
func (s *toolSpan) credentialRevoked(id string, err error) {
	attrs := []attribute.KeyValue{
		KeyCredentialID.String(id),
		KeyCredentialRevokeOK.Bool(err == nil),
	}
	if err != nil {
		attrs = append(attrs, KeyCredentialRevokeError.String(err.Error()))
	}
	s.spanOrNoop().AddEvent(EventCredentialRevoked, trace.WithAttributes(attrs...))
	s.set(KeyCredentialRevokeOK.Bool(err == nil))
}

// end records the outcome and ends the span. Only the first call has an
// effect. A successful call leaves the span status unset, as OpenTelemetry
// asks of instrumentation; denied, error and panic set it to Error with
// error.type = o.Code (or "_OTHER" / "panic" when there is no code).
func (s *toolSpan) end(o Outcome) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	status := o.status()
	attrs := append(s.pending, KeyOutcome.String(status))
	s.pending, s.ended = nil, true
	s.mu.Unlock()
	span := s.spanOrNoop()
	if o.Code != "" {
		attrs = append(attrs, KeyOutcomeCode.String(o.Code))
	}
	if status != StatusOK {
		attrs = append(attrs, keyErrorType.String(errorType(status, o.Code)))
		if o.Err != nil {
			span.RecordError(o.Err)
		}
		span.SetStatus(codes.Error, statusDescription(status, o))
	}
	span.SetAttributes(attrs...)
	if !s.borrowed {
		span.End()
	}
}

// isToolSpan reports whether span is a recording execute_tool span, such as
// one an agent SDK started around its tool call. Only SDK spans expose their
// name; any other span is not enriched.
func isToolSpan(span trace.Span) bool {
	named, ok := span.(interface{ Name() string })
	return ok && span.IsRecording() && strings.HasPrefix(named.Name(), opExecuteTool+" ")
}

func errorType(status, code string) string {
	switch {
	case code != "":
		return code
	case status == StatusPanic:
		return StatusPanic
	default:
		return errorTypeOther
	}
}

func statusDescription(status string, o Outcome) string {
	switch {
	case o.Err != nil:
		return o.Err.Error()
	case o.Code != "":
		return status + ": " + o.Code
	default:
		return status
	}
}
