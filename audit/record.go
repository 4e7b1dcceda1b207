package audit

import (
	"context"
	"errors"
	"time"
)

// Reason is one reason of a decision: a stable code and a human message.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// Record is the decision record of one tool call, allowed or denied. Records
// are written to a [Sink] whatever the trace sampler decides, and hold ids,
// digests and codes, never secrets. Argument values appear only when the
// application asked for them, and then less every path the decision said to
// redact (see [ArgsRecorder]).
type Record struct {
	Time           time.Time `json:"time"`
	TraceID        string    `json:"trace_id,omitempty"`
	SpanID         string    `json:"span_id,omitempty"`
	ProposedBySpan string    `json:"proposed_by_span_id,omitempty"`
	ConversationID string    `json:"conversation_id,omitempty"`
	CallID         string    `json:"call_id,omitempty"`
	Tool           string    `json:"tool"`
	Effect         string    `json:"effect"`
	Risk           string    `json:"risk,omitempty"`
	Subject        string    `json:"subject,omitempty"`
	SVIDSerial     string    `json:"svid_serial,omitempty"`
	// Peer is the process that asked for the call over a protocol (an MCP
	// client), as this process authenticated it: "unauthenticated" when it
	// was not.
	Peer       string `json:"peer,omitempty"`
	ArgsDigest string `json:"args_digest,omitempty"`
	// Args are the argument values as the record shows them: absent unless
	// recording them was asked for, and then with the redacted paths replaced
	// by [Redacted] or "hmac-sha256:<hex>". Sinks must not change the map.
	Args         map[string]any `json:"args,omitempty"`
	Destinations []string       `json:"destinations,omitempty"`
	// Untrusted lists the values that came from content anyone can write
	// and not from a trusted source, as "path<-source": where, never what.
	Untrusted      []string `json:"untrusted,omitempty"`
	Allow          bool     `json:"allow"`
	Code           string   `json:"code,omitempty"`
	Reasons        []Reason `json:"reasons,omitempty"`
	PolicyID       string   `json:"policy_id,omitempty"`
	PolicyRevision string   `json:"policy_revision,omitempty"`
	// Cached says the decision was served from the decision cache, which
	// reuses only decisions the policy marked cacheable.
	Cached bool `json:"cached,omitempty"`
	// Approval is "", "approved", "refused" or "unavailable".
	Approval             string  `json:"approval,omitempty"`
	CredentialID         string  `json:"credential_id,omitempty"`
	CredentialAudience   string  `json:"credential_audience,omitempty"`
	CredentialTTLSeconds float64 `json:"credential_ttl_seconds,omitempty"`
	// Shadow is what a candidate policy would have decided, when one is
	// evaluated beside the enforced policy.
	Shadow *Shadow `json:"shadow,omitempty"`
	// Outcome is StatusOK, StatusDenied, StatusError or StatusPanic, or
	// StatusAuthorized on the record written before the tool runs.
	Outcome    string  `json:"outcome"`
	Error      string  `json:"error,omitempty"`
	DurationMS float64 `json:"duration_ms"`
}

// StatusAuthorized is the Outcome of a decision record written after the call
// was authorized and before the tool runs, by a guard that must not run a tool
// whose decision went unrecorded. The call's final record follows it.
const StatusAuthorized = "authorized"

// Sink receives decision records. Implementations must be safe for concurrent
// use; an error means the record may be lost and should be surfaced or counted.
// A record is read-only to a sink, and only valid during Write: it may share
// slices and maps with other records (and MultiSink hands the same record to
// every sink), so a sink that keeps or edits one copies it first.
type Sink interface {
	Write(ctx context.Context, r *Record) error
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(ctx context.Context, r *Record) error

// errNilSinkFunc keeps a nil SinkFunc from panicking in the middle of a call.
var errNilSinkFunc = errors.New("audit: nil SinkFunc")

// Write calls f(ctx, r).
func (f SinkFunc) Write(ctx context.Context, r *Record) error {
	if f == nil {
		return errNilSinkFunc
	}
	return f(ctx, r)
}
