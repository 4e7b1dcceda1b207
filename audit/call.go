package audit

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// CallRecorder writes the action path of tool calls: for each call, its
// execute_tool span (with the run_guardrail span of its decision) and its
// decision record, kept in step by one owner. A guard builds one and starts a
// [Call] per tool call. It is safe for concurrent use.
type CallRecorder struct {
	tracer *Tracer
	sink   Sink
	args   *ArgsRecorder // nil: records hold the arguments' digest only
	strict bool
	enrich bool
	now    func() time.Time

	who atomic.Pointer[identityAttrs] // the identity last converted to attributes

	sinkFailures, unlinked atomic.Uint64
}

// CallOption configures a CallRecorder.
type CallOption interface{ apply(*CallRecorder) }

type callOption func(*CallRecorder)

func (o callOption) apply(r *CallRecorder) { o(r) }

// WithStrictRecords makes a record the condition of a call running: the
// [Call.Authorized] record must reach the sink before the tool runs, and
// Authorized reports the sink's failure so the caller can refuse the call.
func WithStrictRecords() CallOption { return callOption(func(r *CallRecorder) { r.strict = true }) }

// WithArgs puts argument values in records, through a (less every path the
// decision and the tool say to redact). A nil a records none.
func WithArgs(a *ArgsRecorder) CallOption { return callOption(func(r *CallRecorder) { r.args = a }) }

// WithEnrichedSpans makes a call add to an execute_tool span that a framework
// (an agent SDK) already started, when one is active, instead of nesting a
// second one under it. The framework still ends its span.
func WithEnrichedSpans() CallOption { return callOption(func(r *CallRecorder) { r.enrich = true }) }

// WithClock sets the clock records are timed by (default time.Now).
func WithClock(now func() time.Time) CallOption {
	return callOption(func(r *CallRecorder) {
		if now != nil {
			r.now = now
		}
	})
}

// NewCallRecorder returns a CallRecorder whose spans come from t (nil: the
// global TracerProvider) and whose records go to sink. A nil sink is an
// error: a call path with nowhere to record is not one this package writes.
func NewCallRecorder(t *Tracer, sink Sink, opts ...CallOption) (*CallRecorder, error) {
	if sink == nil {
		return nil, errors.New("audit: NewCallRecorder with a nil Sink")
	}
	if t == nil {
		t = NewTracer(nil)
	}
	r := &CallRecorder{tracer: t, sink: sink, now: time.Now}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("audit: nil CallOption")
		}
		o.apply(r)
	}
	return r, nil
}

// Tracer is the tracer the recorder's spans come from. Start the turns and
// agents of the calls it records on it (Tracer.StartTurn), so that every span
// lands in one trace.
func (r *CallRecorder) Tracer() *Tracer { return r.tracer }

// SinkFailures counts records the sink refused: lost, unless the sink keeps
// its own copy. Nothing is dropped silently.
func (r *CallRecorder) SinkFailures() uint64 { return r.sinkFailures.Load() }

// Unlinked counts calls proposed by a turn whose chat span was not recorded
// (started on a TracerProvider that records nothing, such as the global one
// when none is set) while the call's own span was: the action path cannot
// link to its prompt path. Start the turn on [CallRecorder.Tracer].
func (r *CallRecorder) Unlinked() uint64 { return r.unlinked.Load() }

// CallStart is what is known of a tool call when it starts.
type CallStart struct {
	// Tool is the tool's name; Effect and Risk its declared effect and risk.
	Tool, Effect, Risk string
	// CallID is the model's id for the call; when it is empty (after
	// cleaning), the call is given one (see [Call.ID]).
	CallID string
	// Args are the call's canonical arguments, kept (not copied) for the
	// record when WithArgs asked for values; ArgsDigest is their keyed digest.
	Args       []byte
	ArgsDigest string
	// Redact lists argument paths the tool itself says are secret: hidden
	// in every record, whatever the decision says.
	Redact []string
	// Identity is the caller's identity, when it is known and valid as the
	// call starts: it then goes into the span's start attributes.
	Identity *Identity
	// Peer names the process that asked for the call over a protocol (see
	// Record.Peer); "" for a call made in this process.
	Peer string
}

// Identity is the workload identity a call is made with.
type Identity struct {
	SPIFFEID string
	Serial   string    // the SVID's serial number, hex
	NotAfter time.Time // the SVID's expiry; zero: not recorded
}

// identityAttrs is an Identity converted to span attributes, remembered for
// the next call: a process makes many calls under one SVID.
type identityAttrs struct {
	id    Identity
	attrs []attribute.KeyValue
}

func (r *CallRecorder) identityAttrs(id Identity) []attribute.KeyValue {
	if w := r.who.Load(); w != nil && w.id == id {
		return w.attrs
	}
	w := &identityAttrs{id: id, attrs: appendIdentity(nil, id.SPIFFEID, id.Serial, id.NotAfter)}
	r.who.Store(w)
	return w.attrs
}

// Call is the action path of one tool call: its span and its record,
// written together, one method per step. Its methods are called by one
// goroutine, in the order of the steps; a nil *Call records nothing.
type Call struct {
	r      *CallRecorder
	span   toolSpan // in the Call's own allocation: one less per call
	gs     *guardrailSpan
	rec    Record
	args   []byte
	redact []string
	start  time.Time
	ended  bool
}

// Start starts the call: its execute_tool span, as a child of the active
// span in ctx and linked to the chat span of the turn that proposed it, and
// its record. The returned ctx has the span active, so spans the tool makes
// nest under it.
func (r *CallRecorder) Start(ctx context.Context, s CallStart) (context.Context, *Call) {
	c := &Call{r: r, args: s.Args, redact: s.Redact, start: r.now()}
	id := clean(s.CallID)
	if id == "" {
		id = newCallID()
	}
	var idAttrs []attribute.KeyValue
	if s.Identity != nil {
		idAttrs = r.identityAttrs(*s.Identity)
	}
	ctx = r.tracer.startToolSpan(ctx, &c.span, toolSpanStart{
		name: clean(s.Tool), callID: id, effect: s.Effect, risk: s.Risk, argsDigest: s.ArgsDigest,
		enrich: r.enrich, identity: idAttrs, peer: clean(s.Peer),
	})
	c.rec = Record{
		Time: c.start, CallID: id, Tool: clean(s.Tool), Effect: s.Effect, Risk: s.Risk,
		ArgsDigest: s.ArgsDigest, ConversationID: ConversationID(ctx), Peer: clean(s.Peer),
	}
	if s.Identity != nil {
		c.rec.Subject, c.rec.SVIDSerial = s.Identity.SPIFFEID, s.Identity.Serial
	}
	if sc := c.span.SpanContext(); sc.IsValid() {
		// Both ids in one string: one allocation, not two.
		tid, sid := sc.TraceID(), sc.SpanID()
		var b [2*len(tid) + 2*len(sid)]byte
		ids := string(hex.AppendEncode(hex.AppendEncode(b[:0], tid[:]), sid[:]))
		c.rec.TraceID, c.rec.SpanID = ids[:2*len(tid)], ids[2*len(tid):]
		if c.span.unlinked {
			r.unlinked.Add(1)
		}
	}
	if p := c.span.proposedBy; p.IsValid() {
		c.rec.ProposedBySpan = p.SpanID().String()
	}
	return ctx, c
}

// ID is the call's id as spans and records show it: the model's id,
// cleaned, or one made for a call that had none.
func (c *Call) ID() string {
	if c == nil {
		return ""
	}
	return c.rec.CallID
}

// SpanContext is the call's execute_tool span context.
func (c *Call) SpanContext() trace.SpanContext {
	if c == nil {
		return trace.SpanContext{}
	}
	return c.span.SpanContext()
}

// newCallID names a call the framework gave no id. An id must be unique,
// not secret (it is in spans, records and credentials), so it comes from the
// runtime's generator (ChaCha8, seeded by the system) rather than a system
// call per call.
func newCallID() string {
	const prefix = "ztagent_"
	var r [8]byte
	binary.BigEndian.PutUint64(r[:], rand.Uint64())
	var b [len(prefix) + 2*len(r)]byte
	hex.Encode(b[copy(b[:], prefix):], r[:])
	return string(b[:])
}

// Identity records the identity the call is made with, when it was not
// known (or not yet valid) as the call started.
func (c *Call) Identity(id Identity) {
	if c == nil {
		return
	}
	if c.rec.Subject == "" {
		c.span.set(c.r.identityAttrs(id)...)
	}
	c.rec.Subject, c.rec.SVIDSerial = id.SPIFFEID, id.Serial
}

// Destinations records where the call reaches, as descriptions safe to
// show (host and port, a path; never a secret). The slice is kept.
func (c *Call) Destinations(described []string) {
	if c != nil {
		c.rec.Destinations = described
	}
}

// Untrusted records which values of the call came from content anyone can
// write and not from a trusted source, as "path<-source" (sources only,
// never values): what a conversation's provenance found.
func (c *Call) Untrusted(list []string) {
	if c == nil || len(list) == 0 {
		return
	}
	c.rec.Untrusted = list
	c.span.set(KeyProvenanceUntrusted.StringSlice(list))
}

// StartDecision starts the run_guardrail span of a decision the policy
// evaluates (not one served from a cache: see [Call.Decided]); the
// returned ctx has it active, for the policy's own spans.
func (c *Call) StartDecision(ctx context.Context) context.Context {
	if c == nil {
		return ctx
	}
	ctx, c.gs = c.span.startGuardrail(ctx)
	return ctx
}

// Decided records the decision: on the run_guardrail span StartDecision
// started, or, when the decision was served from a cache (cached and no
// StartDecision), as a summary on the execute_tool span. With WithArgs, the
// argument values go into the record less the tool's and the decision's
// redact paths — only when the policy decided (v.Err == nil): without a
// decision nothing says what must be hidden, so nothing is shown.
func (c *Call) Decided(v Verdict, cached bool) {
	if c == nil {
		return
	}
	if c.gs != nil {
		c.gs.end(v)
	} else {
		c.span.decisionCached(v)
	}
	c.rec.Allow = v.Allow && v.Err == nil
	c.rec.Code, c.rec.Reasons = v.code(), v.Reasons
	c.rec.PolicyID, c.rec.PolicyRevision = v.PolicyID, v.PolicyRevision
	c.rec.Cached, c.rec.Shadow = cached, v.Shadow
	if c.r.args != nil && v.Err == nil {
		redact := v.Redact
		if len(c.redact) > 0 {
			redact = append(slices.Clip(c.redact), redact...)
		}
		if args, err := c.r.args.Record(c.args, redact); err == nil {
			c.rec.Args = args // not an object, or not readable: the digest stays alone
		}
	}
}

// Approval statuses, as records show them.
const (
	ApprovalApproved    = "approved"
	ApprovalRefused     = "refused"
	ApprovalUnavailable = "unavailable"
)

// ApprovalRequested records that the decision asked for approval, and why.
func (c *Call) ApprovalRequested(reason string) {
	if c != nil {
		c.span.approvalRequested(reason)
	}
}

// ApprovalResolved records the approver's answer: status is
// ApprovalApproved, ApprovalRefused or ApprovalUnavailable (no approver, or
// it failed); by and reason are the approver's.
func (c *Call) ApprovalResolved(status, by, reason string) {
	if c == nil {
		return
	}
	c.span.approvalResolved(status == ApprovalApproved, by, reason)
	c.rec.Approval = status
}

// Authorized is the last step before the tool runs. Under
// WithStrictRecords it writes the record as it stands, with Outcome
// StatusAuthorized, and returns the sink's error: the caller must then not
// run the tool. A record with StatusAuthorized and no final record after it
// therefore means the tool ran and its final record was lost. Without
// WithStrictRecords it writes nothing and returns nil.
func (c *Call) Authorized(ctx context.Context) error {
	if c == nil || !c.r.strict {
		return nil
	}
	r := c.rec // the final record is still being filled in
	r.Outcome = StatusAuthorized
	r.DurationMS = c.durationMS()
	if err := c.r.sink.Write(detached(ctx), &r); err != nil {
		c.r.sinkFailures.Add(1)
		return err
	}
	return nil
}

// Credential is what a call's credential may show: never the token.
type Credential struct {
	ID       string
	Audience string
	TTL      time.Duration
	// Reused says the credential was issued earlier for the call's task
	// and is shared; nothing was issued for this call.
	Reused bool
}

// CredentialIssued records the credential the call runs with.
func (c *Call) CredentialIssued(cr Credential) {
	if c == nil {
		return
	}
	if cr.Reused {
		c.span.credentialReused(cr.ID)
	} else {
		c.span.credentialIssued(cr.ID, cr.Audience, cr.TTL)
	}
	c.rec.CredentialID, c.rec.CredentialAudience = cr.ID, cr.Audience
	c.rec.CredentialTTLSeconds = cr.TTL.Seconds()
}

// CredentialRevoked records the revocation of the call's credential; a
// non-nil err means it stays valid until it expires.
func (c *Call) CredentialRevoked(id string, err error) {
	if c != nil {
		c.span.credentialRevoked(id, err)
	}
}

// End records how the call ended, ends its span and writes its record,
// even if ctx is canceled. A denial (StatusDenied) records o.Code as the
// record's code and o.Reason as its error, and allow false. Only the first
// End counts. It returns the sink's error, which is also counted
// ([CallRecorder.SinkFailures]).
func (c *Call) End(ctx context.Context, o Outcome) error {
	if c == nil || c.ended {
		return nil
	}
	c.ended = true
	c.span.end(o)
	c.rec.Outcome = o.status()
	switch {
	case o.Status == StatusDenied:
		c.rec.Allow, c.rec.Code = false, o.Code
		c.rec.Error = o.Reason
	case o.Err != nil:
		c.rec.Error = o.Err.Error()
	}
	c.rec.DurationMS = c.durationMS()
	if err := c.r.sink.Write(detached(ctx), &c.rec); err != nil {
		c.r.sinkFailures.Add(1)
		return err
	}
	return nil
}

func (c *Call) durationMS() float64 {
	return float64(c.r.now().Sub(c.start).Microseconds()) / 1000
}

// detached is ctx without its cancellation: a record is written even when
// the caller gave up on the call. A ctx that cannot be canceled is used as
// it is, saving an allocation on every call.
func detached(ctx context.Context) context.Context {
	if ctx.Done() == nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}
