// Package ztagent applies Zero Trust at the point where an AI agent's output
// becomes an action.
//
// An agent's tool call is a request from a workload with limited, verifiable
// authority, never something trusted because "the prompt was accepted". Wrap
// each tool function once with package toolguard; from then on every call,
// on its own:
//
//  1. acquires the agent's workload identity, a SPIFFE SVID (package identity);
//  2. is authorized in process by a Rego policy on identity, task, tool,
//     arguments, destinations, taint and risk (package authz);
//  3. runs with a short-lived credential scoped to that call and revoked when
//     it ends (package creds);
//  4. is traced with OpenTelemetry, linking the model turn that proposed the
//     call (the prompt path) to what ran and why (the action path), and is
//     written to a decision record (package audit).
//
// Any step that fails denies the call: the tool does not run, and the caller
// gets a *toolguard.DeniedError with a stable code.
//
// Start with the example program:
//
//	go run ./examples/quickstart
//
// This package holds no code; it is the map. The packages are identity,
// creds, authz, audit (the leaves, which never import each other) and
// toolguard (which composes them).
package ztagent
