// Package internal holds what more than one ztagent package needs but no
// user should depend on: the digest format shared by args digests, prompt
// digests and policy revisions (internal/digest), and a settable clock for
// tests of expiry and rotation (internal/fakeclock). Test harnesses that start
// real SPIRE, Jaeger and OPA servers live here too.
package internal
