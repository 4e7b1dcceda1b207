package audit

// Outcome statuses: how a tool call ended. They are the values of
// ztagent.outcome and of Record.Outcome.
const (
	StatusOK     = "ok"
	StatusDenied = "denied"
	StatusError  = "error"
	StatusPanic  = "panic"
)

// Outcome is how a tool call ended, given to [Call.End].
type Outcome struct {
	// Status is StatusOK, StatusDenied, StatusError or StatusPanic. Any other
	// value, including "", is recorded as StatusError: a call that did not say
	// it succeeded is not reported as a success.
	Status string
	// Code is the stable denial or failure code (error.type and
	// ztagent.outcome.code).
	Code string
	// Err is the tool's error or the recovered panic. Its message is recorded
	// via RecordError and must not include secrets; that is the caller's job.
	Err error
	// Reason is a denial's human-readable reason, for the record (its
	// error field). Like Err, it must not include secrets.
	Reason string
}

func (o Outcome) status() string {
	switch o.Status {
	case StatusOK, StatusDenied, StatusPanic:
		return o.Status
	default:
		return StatusError
	}
}
