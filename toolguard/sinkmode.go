package toolguard

import (
	"context"
	"errors"
	"slices"

	"github.com/ztagent/ztagent/audit"
)

// CodeAuditUnavailable denies a call under WithStrictAudit whose decision
// record could not be written.
const CodeAuditUnavailable = "audit_unavailable"

// auditSettings say how much the guard records beyond the default of one
// record per call holding ids, digests and codes.
type auditSettings struct {
	// strict: no tool runs unless its decision is on record first.
	strict bool
	// args records argument values, less the decision's redact paths; nil
	// records none.
	args *audit.ArgsRecorder
}

// auditOption is an Option about records: it sets the config's audit
// settings, or reports a bad value so New fails like on any option.
type auditOption struct {
	set func(*auditSettings)
	err error
}

func (o auditOption) apply(c *config) {
	if o.err != nil {
		c.err = errors.Join(c.err, o.err)
		return
	}
	o.set(&c.audit)
}

// WithStrictAudit makes an unrecorded decision a denial. The guard writes a
// decision record (Outcome audit.StatusAuthorized) once the call is
// authorized and approved, before a credential is issued or the tool runs, and
// denies the call with CodeAuditUnavailable if the sink fails; the final
// record follows as usual. With a MultiSink every sink must take the record.
//
// Without it (the default, lenient mode) a record the sink refuses is counted
// in Stats().SinkFailures and the call goes on.
func WithStrictAudit() Option {
	return auditOption{set: func(s *auditSettings) { s.strict = true }}
}

// WithRecordArgs puts argument values in decision records. By default records
// hold only the arguments' digest. Values are recorded only for calls the
// policy decided, minus every path the decision lists under "redact"; those
// become "[redacted]", or "hmac-sha256:<hex>" under hmacKey when it is given,
// so equal values can be matched across records without being shown. A
// non-nil key shorter than audit.MinKeyLen is an error.
func WithRecordArgs(hmacKey []byte) Option {
	rec, err := audit.NewArgsRecorder(hmacKey)
	if err != nil {
		return auditOption{err: errors.Join(errors.New("toolguard: WithRecordArgs"), err)}
	}
	return auditOption{set: func(s *auditSettings) { s.args = rec }}
}

// recordDecision writes the "authorized" record in strict mode; it does
// nothing otherwise. It runs after approval and before issuing a credential,
// so a call denied here leaves no credential to revoke.
func (s auditSettings) recordDecision(ctx context.Context, c *call) *DeniedError {
	if !s.strict {
		return nil
	}
	r := c.rec // the final record is still being filled in
	r.Outcome = audit.StatusAuthorized
	r.DurationMS = float64(c.g.now().Sub(c.start).Microseconds()) / 1000
	if err := c.g.sink.Write(context.WithoutCancel(ctx), &r); err != nil {
		c.g.stats.sinkFailures.Add(1)
		return c.refuse(CodeAuditUnavailable, "the decision record could not be written", err)
	}
	return nil
}

// recordArgs puts the argument values, redacted per the decision, in the
// call's record, when WithRecordArgs asked for them. Without a decision
// (decideErr != nil) nothing says what must be hidden, so nothing is shown.
// The tool's own Redact paths are hidden on every call.
// Arguments that are not a JSON object keep to the digest.
func (s auditSettings) recordArgs(c *call, decideErr error) {
	if s.args == nil || decideErr != nil {
		return
	}
	redact := c.dec.Redact
	if len(c.tool.redactPaths) > 0 { // the tool's own secrets, whatever the policy says
		redact = append(slices.Clip(c.tool.redactPaths), redact...)
	}
	args, err := s.args.Record(c.args.raw, redact)
	if err != nil {
		return
	}
	c.rec.Args = args
}
