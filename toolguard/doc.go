// Package toolguard puts Zero Trust at the point where an AI agent's output
// becomes an action.
//
// Wrap each tool function once:
//
//	g, err := toolguard.New(ctx) // embedded defaults: dev SPIFFE CA, in-process minter, default policy
//	defer g.Close(ctx)
//	send, err := toolguard.Wrap(g, toolguard.Tool{
//		Name:         "send_email",
//		Effect:       toolguard.Write,
//		Destinations: []toolguard.Dest{toolguard.EmailArg("to")},
//	}, sendEmail)
//
// From then on every call of send, on its own:
//
//  1. starts an execute_tool span linked to the model turn that proposed it (package audit);
//  2. reads the agent's current SPIFFE SVID (package identity; expired means deny);
//  3. freezes the arguments (canonical JSON plus its digest, an HMAC-SHA256
//     under the guard's key), refuses any the tool's JSON decoder could read
//     differently from the guard (keys that fold to another field's name, or
//     together), and derives the destinations from them by code, never by
//     trusting the model;
//  4. asks the Rego policy (package authz) for a decision, under a deadline;
//  5. asks the Approver when the decision requires approval, bound to the args digest;
//  6. mints a short-lived credential scoped by the decision (package creds);
//  7. runs the tool with the frozen copy of the arguments, the credential in its
//     context (creds.FromContext) and the decision's egress grant, which the
//     tool's HTTP client, dialer and file opens enforce (package egress);
//  8. revokes the credential when the tool returns, fails or panics;
//  9. ends the span and writes a decision record to the audit.Sink, allowed or denied.
//
// A destination is declared as a path into the arguments (URLArg("links.url"),
// crossing arrays), required unless Optional, or fixed in code (FixedURL).
// Wrap checks the paths against the argument type, and WrapJSON against the
// tool's InputSchema, when the tool is wrapped.
//
// Every step that cannot complete denies the call: the tool function does not run
// and the caller gets a *DeniedError with a stable Code and a readable Reason.
// The codes the guard sets itself are the Code* constants; a policy's denial
// carries the policy's reason code, and a failed evaluation authz's code.
//
// Renamed, with the old names kept as deprecated aliases and every code's
// value unchanged: CodeCredentialFailed → CodeCredentialUnavailable
// ("credential_unavailable"), CodeApprovalRequired → CodeNoApprover
// ("approval_required"), WithIssuer → WithCredentialIssuer.
//
// Zero values fail closed: a nil *Guard denies, a Guard with no policy data grants
// nothing, and a decision that needs approval is refused when no Approver is set.
package toolguard
