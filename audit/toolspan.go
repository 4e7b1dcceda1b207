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

// ToolCall describes one tool call on the action path.
type ToolCall struct {
	// Name is the tool's name (gen_ai.tool.name).
	Name string
	// CallID is the model's id for the call (gen_ai.tool.call.id); it is how
	// the call is linked to the turn that proposed it.
	CallID string
	// Effect is read, write, destructive or external (ztagent.tool.effect).
	Effect string
	// Risk is low, medium or high (ztagent.tool.risk).
	Risk string
	// ArgsDigest is a keyed digest of the canonical frozen arguments
	// (ztagent.args.digest, see KeyArgsDigest). Argument values are never
	// recorded here.
	ArgsDigest string
	// Enrich makes the guard add to an execute_tool span that a framework
	// (an agent SDK) already started, when one is active in ctx, instead of
	// nesting a second execute_tool span under it. The framework still ends
	// its span.
	Enrich bool
	// Identity, when the caller knows it before the call starts, goes into
	// the span's start attributes, as [ToolSpan.SetIdentity] would record it.
	Identity *SpanIdentity
}

// SpanIdentity is a workload identity (SPIFFE ID, SVID serial and expiry)
// converted to span attributes once, for a caller that makes many calls under
// the same SVID. It is immutable.
type SpanIdentity struct{ attrs []attribute.KeyValue }

// NewSpanIdentity converts an identity as [ToolSpan.SetIdentity] records it.
func NewSpanIdentity(spiffeID, serial string, notAfter time.Time) *SpanIdentity {
	return &SpanIdentity{attrs: appendIdentity(nil, spiffeID, serial, notAfter)}
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

// ToolSpan is one "execute_tool {name}" span. Its methods are safe for
// concurrent use. The zero value records nothing.
//
// Attributes learnt during the call (verdict, credential, outcome) are
// collected and set on the span in one call when it ends, so the SDK grows
// the span's attribute list once rather than at every step; exporters see
// the same attributes, since a span is exported when it ends. Events are
// added as they happen.
type ToolSpan struct {
	span     trace.Span
	tracer   trace.Tracer
	borrowed bool // the framework's span: enriched, not ended, by us

	proposedBy trace.SpanContext // the proposing turn's chat span, if any

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
func (s *ToolSpan) set(attrs ...attribute.KeyValue) {
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

// StartToolCall starts an "execute_tool {name}" span (kind INTERNAL) as a child
// of the active span in ctx and makes it the active span of the returned ctx,
// so spans made by the tool itself (HTTP clients, databases) nest under it.
// When a turn remembered in ctx proposed c.CallID, the span links to that
// turn's chat span with ztagent.link.kind=proposed_by.
func (t *Tracer) StartToolCall(ctx context.Context, c ToolCall) (context.Context, *ToolSpan) {
	c.Name, c.CallID = clean(c.Name), clean(c.CallID)
	ts := &ToolSpan{}
	// The start attributes are built in ts.buf. Starting a span copies them
	// (trace.NewSpanStartConfig appends them to the span's own config, and
	// SetAttributes copies too), so once the span has started ts.buf holds
	// the attributes set later.
	attrs := append(ts.buf[:0],
		keyGenAIOperationName.String(opExecuteTool),
		keyGenAIToolType.String(toolTypeFunction),
	)
	if c.Name != "" {
		attrs = append(attrs, keyGenAIToolName.String(c.Name))
	}
	if c.CallID != "" {
		attrs = append(attrs, keyGenAIToolCallID.String(c.CallID))
	}
	if conv := ConversationID(ctx); conv != "" {
		attrs = append(attrs, keyGenAIConversationID.String(conv))
	}
	if c.Effect != "" {
		attrs = append(attrs, KeyToolEffect.String(c.Effect))
	}
	if c.Risk != "" {
		attrs = append(attrs, KeyToolRisk.String(c.Risk))
	}
	if c.ArgsDigest != "" {
		attrs = append(attrs, KeyArgsDigest.String(c.ArgsDigest))
	}
	if c.Identity != nil {
		attrs = append(attrs, c.Identity.attrs...)
	}
	link, linked := proposedBy(ctx, c.CallID) // cleaned above
	proposed := trace.Link{SpanContext: link, Attributes: proposedByAttrs}
	ts.proposedBy, ts.tracer = link, t.get()
	if existing := trace.SpanFromContext(ctx); c.Enrich && isToolSpan(existing) {
		existing.SetAttributes(attrs...)
		if linked {
			existing.AddLink(proposed)
		}
		ts.span, ts.borrowed = existing, true
	} else {
		opts := append(ts.opts[:0], kindInternal, trace.WithAttributes(attrs...))
		if linked {
			opts = append(opts, trace.WithLinks(proposed))
		}
		ctx, ts.span = ts.tracer.Start(ctx, t.toolSpanName(c.Name), opts...)
	}
	ts.pending = ts.buf[:0] // the span has copied attrs: buf is free
	return ctx, ts
}

// proposedByAttrs are the attributes of every proposed_by link; the SDK
// copies what it keeps, so one slice serves all links.
var proposedByAttrs = []attribute.KeyValue{KeyLinkKind.String(LinkKindProposedBy)}

// ProposedBy is the chat span of the turn that proposed this call, found
// when the span started ([ProposedBy] on its context), so a caller need not
// walk the turns again.
func (s *ToolSpan) ProposedBy() (trace.SpanContext, bool) {
	if s == nil {
		return trace.SpanContext{}, false
	}
	return s.proposedBy, s.proposedBy.IsValid()
}

func (s *ToolSpan) spanOrNoop() trace.Span {
	if s == nil || s.span == nil {
		return noop.Span{}
	}
	return s.span
}

func (s *ToolSpan) tracerOrNoop() trace.Tracer {
	if s == nil || s.tracer == nil {
		return noop.NewTracerProvider().Tracer(instrumentationName)
	}
	return s.tracer
}

// SpanContext returns the execute_tool span's context, for decision records.
func (s *ToolSpan) SpanContext() trace.SpanContext {
	return s.spanOrNoop().SpanContext()
}

// SetIdentity records the workload identity the call was made with. A zero
// notAfter is not recorded.
func (s *ToolSpan) SetIdentity(spiffeID, serial string, notAfter time.Time) {
	s.set(appendIdentity(nil, spiffeID, serial, notAfter)...)
}

// ApprovalRequested adds the ztagent.approval.requested event.
func (s *ToolSpan) ApprovalRequested(reason string) {
	s.spanOrNoop().AddEvent(EventApprovalRequested,
		trace.WithAttributes(KeyApprovalReason.String(reason)))
}

// ApprovalResolved adds the ztagent.approval.resolved event and sets
// ztagent.approval.status ("approved" or "refused") on the span.
func (s *ToolSpan) ApprovalResolved(approved bool, by, reason string) {
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

// CredentialIssued adds the ztagent.credential.issued event and sets
// ztagent.credential.id on the span. It takes the id, never the token.
func (s *ToolSpan) CredentialIssued(id, audience string, ttl time.Duration) {
	s.spanOrNoop().AddEvent(EventCredentialIssued, trace.WithAttributes(
		KeyCredentialID.String(id),
		KeyCredentialAudience.String(audience),
		KeyCredentialTTLSeconds.Float64(ttl.Seconds()),
	))
	s.set(KeyCredentialID.String(id))
}

// CredentialReused records that the call used a credential issued earlier
// (a task's shared credential): ztagent.credential.id and
// ztagent.credential.reused=true on the span, and no event, since nothing was
// issued for this call.
func (s *ToolSpan) CredentialReused(id string) {
	s.set(KeyCredentialID.String(id), KeyCredentialReused.Bool(true))
}

// CredentialRevoked adds the ztagent.credential.revoked event. A non-nil err
// means the credential stays valid until it expires; that is recorded on the
// event and as ztagent.credential.revoke.ok=false on the span.
func (s *ToolSpan) CredentialRevoked(id string, err error) {
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

// End records the outcome and ends the span. Only the first call has an
// effect. A successful call leaves the span status unset, as OpenTelemetry
// asks of instrumentation; denied, error and panic set it to Error with
// error.type = o.Code (or "_OTHER" / "panic" when there is no code).
func (s *ToolSpan) End(o Outcome) {
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
