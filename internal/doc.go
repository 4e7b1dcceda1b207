// Package internal holds what more than one ztagent package needs but no
// user should depend on: the digest format shared by args digests, prompt
// digests and policy revisions (internal/digest), the background loop every
// package's refreshes, polls and retries run on (internal/loop), and a
// settable clock for tests of expiry, rotation and those loops
// (internal/fakeclock). Test harnesses that start
// real SPIRE, Jaeger and OPA servers live here too.
package internal
