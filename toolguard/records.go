package toolguard

import (
	"errors"

	"github.com/ztagent/ztagent/audit"
)

// CodeAuditUnavailable denies a call under WithStrictAudit whose decision
// record could not be written.
const CodeAuditUnavailable = "audit_unavailable"

// WithStrictAudit makes an unrecorded decision a denial. Once the call is
// authorized, approved and credentialed, the guard writes its decision
// record (Outcome audit.StatusAuthorized) before the tool runs, and denies
// the call with CodeAuditUnavailable (revoking its credential) if the sink
// fails; the final record follows as usual. So an "authorized" record with
// no final record after it means the tool ran and its final record was
// lost, and a call denied after approval never has one. With a MultiSink
// every sink must take the record.
//
// Without it (the default, lenient mode) a record the sink refuses is counted
// in Stats().SinkFailures and the call goes on.
func WithStrictAudit() Option {
	return optionFunc(func(c *config) error {
		c.records = append(c.records, audit.WithStrictRecords())
		return nil
	})
}

// WithRecordArgs puts argument values in decision records. By default records
// hold only the arguments' digest. Values are recorded only for calls the
// policy decided, minus every path the decision lists under "redact" and the
// tool's own Tool.Redact; those become "[redacted]", or "hmac-sha256:<hex>"
// under hmacKey when it is given, so equal values can be matched across
// records without being shown. A non-nil key shorter than audit.MinKeyLen is
// an error.
func WithRecordArgs(hmacKey []byte) Option {
	return optionFunc(func(c *config) error {
		rec, err := audit.NewArgsRecorder(hmacKey)
		if err != nil {
			return errors.Join(errors.New("toolguard: WithRecordArgs"), err)
		}
		c.records = append(c.records, audit.WithArgs(rec))
		return nil
	})
}
