// Package bench measures what a guarded tool call costs against the floor (a
// bare call), the engine it wraps (a bare OPA PreparedEvalQuery.Eval of the
// same policy), one OpenTelemetry span, and the sidecar alternative (the same
// policy in an OPA server over loopback HTTP). It holds only tests and
// benchmarks; see BENCHMARKS.md at the repository root for the one command
// that prints the report.
package bench
