package audit

import "go.opentelemetry.io/otel/attribute"

// Attribute keys in the ztagent namespace. They carry what the GenAI semantic
// conventions have no name for yet: identity, the authorization decision,
// approvals and credentials. Dashboards and alerts are written against these
// names, so they are stable API.
const (
	// KeyTurnNumber (int) is the position of a model turn in its conversation,
	// counted from 1. Set on chat spans; omitted when the caller gave 0.
	KeyTurnNumber attribute.Key = "ztagent.turn.number"
	// KeyTurnToolCallIDs (string[]) lists the tool call ids the model proposed
	// in a turn, in the order they were reported. Set on chat spans at End.
	KeyTurnToolCallIDs attribute.Key = "ztagent.turn.tool_call_ids"
	// KeyPromptDigest (string) is "sha256:<hex>" of the prompt of a turn. The
	// prompt itself is never recorded; the digest lets an investigator match a
	// prompt stored elsewhere under its own access controls.
	KeyPromptDigest attribute.Key = "ztagent.prompt.digest"

	// KeyToolEffect (string) is what a tool does to the world: read, write,
	// destructive or external (sends data outside the trust domain).
	KeyToolEffect attribute.Key = "ztagent.tool.effect"
	// KeyToolRisk (string) is the tool's declared risk: low, medium or high.
	KeyToolRisk attribute.Key = "ztagent.tool.risk"
	// KeyArgsDigest (string) is a keyed digest of the canonical JSON of the
	// frozen call arguments, "hmac-sha256:<hex>" (toolguard.WithArgsDigestKey):
	// the same value the policy and approvals saw. Keyed, so that it cannot be
	// used to test guesses of the arguments.
	KeyArgsDigest attribute.Key = "ztagent.args.digest"

	// KeyLinkKind (string) is set on span links to say why two spans are
	// linked; see LinkKindProposedBy.
	KeyLinkKind attribute.Key = "ztagent.link.kind"
	// KeyProvenanceUntrusted (string[]) lists the values of a call that
	// came from untrusted content, as "path<-source" (never the values).
	KeyProvenanceUntrusted attribute.Key = "ztagent.provenance.untrusted"
	// KeyLinkMissing (string) is set on an execute_tool span that a turn
	// proposed but cannot link to; see LinkMissingTurnNotRecorded.
	KeyLinkMissing attribute.Key = "ztagent.link.missing"

	// KeySubjectSPIFFEID (string) is the SPIFFE ID the agent presented for
	// this call (the authenticated workload, not a human).
	KeySubjectSPIFFEID attribute.Key = "ztagent.subject.spiffe_id"
	// KeySVIDSerial (string) is the serial number of the X.509-SVID used, so a
	// call can be tied to one certificate in the CA's issuance log.
	KeySVIDSerial attribute.Key = "ztagent.svid.serial"
	// KeyPeerID (string) is the process that asked for the call over a
	// protocol (an MCP client): its SPIFFE ID or token subject as this
	// process authenticated it, or "unauthenticated".
	KeyPeerID attribute.Key = "ztagent.peer.id"
	// KeySVIDExpiresAt (string, RFC 3339 UTC) is the NotAfter of that SVID.
	KeySVIDExpiresAt attribute.Key = "ztagent.svid.expires_at"

	// KeyGuardrailVerdict (string) is the authorization verdict: "allow" or
	// "deny". Set on run_guardrail and copied onto execute_tool.
	KeyGuardrailVerdict attribute.Key = "ztagent.guardrail.verdict"
	// KeyDecisionCode (string) is the stable code of the first decision reason
	// (for example "tool_not_granted" or "allowed"). Set on run_guardrail and
	// copied onto execute_tool.
	KeyDecisionCode attribute.Key = "ztagent.decision.code"
	// KeyDecisionReasons (string[]) holds the codes of every decision reason.
	// Messages stay out of spans; they go to the decision record.
	KeyDecisionReasons attribute.Key = "ztagent.decision.reasons"
	// KeyDecisionCached (bool) is set, true, on an execute_tool span whose
	// decision was served from the decision cache: the policy did not run for
	// this call, so there is no run_guardrail span, and the verdict, code,
	// policy id and revision of the cached decision are on execute_tool.
	KeyDecisionCached attribute.Key = "ztagent.decision.cached"
	// KeyPolicyID (string) names the policy that decided (its query path).
	KeyPolicyID attribute.Key = "ztagent.policy.id"
	// KeyPolicyRevision (string) is "sha256:<hex>" of the policy modules, data
	// and query that decided, so a decision can be replayed exactly.
	KeyPolicyRevision attribute.Key = "ztagent.policy.revision"

	// KeyApprovalRequired (bool) says the policy demanded human approval.
	KeyApprovalRequired attribute.Key = "ztagent.approval.required"
	// KeyApprovalReason (string) is why approval was requested or resolved.
	KeyApprovalReason attribute.Key = "ztagent.approval.reason"
	// KeyApprovalApproved (bool) is the approver's answer, on the
	// approval.resolved event.
	KeyApprovalApproved attribute.Key = "ztagent.approval.approved"
	// KeyApprovalBy (string) identifies who (or what) resolved the approval.
	KeyApprovalBy attribute.Key = "ztagent.approval.by"
	// KeyApprovalStatus (string) is "approved" or "refused", set on
	// execute_tool when an approval is resolved so calls can be searched by it.
	KeyApprovalStatus attribute.Key = "ztagent.approval.status"

	// KeyCredentialID (string) is the id (JWT "jti") of the per-call
	// credential. Never the token: the id is safe to log, the token is not.
	KeyCredentialID attribute.Key = "ztagent.credential.id"
	// KeyCredentialAudience (string) is the audience the credential is valid for.
	KeyCredentialAudience attribute.Key = "ztagent.credential.audience"
	// KeyCredentialTTLSeconds (double) is the credential's lifetime in seconds.
	KeyCredentialTTLSeconds attribute.Key = "ztagent.credential.ttl_s"
	// KeyCredentialRevokeOK (bool) says whether revoking the credential after
	// the call succeeded. false means the credential stays usable until it
	// expires, which responders need to know.
	KeyCredentialRevokeOK attribute.Key = "ztagent.credential.revoke.ok"
	// KeyCredentialReused (bool) is true when the call used a credential its
	// task already held (credential.reuse = "task") instead of one issued for
	// it; the ztagent.credential.issued event is on the call that minted it.
	KeyCredentialReused attribute.Key = "ztagent.credential.reused"
	// KeyCredentialRevokeError (string) is the revocation error message.
	KeyCredentialRevokeError attribute.Key = "ztagent.credential.revoke.error"

	// KeyShadowRevision (string) is the revision of the shadow (candidate)
	// policy evaluated beside the enforced one.
	KeyShadowRevision attribute.Key = "ztagent.shadow.revision"
	// KeyShadowVerdict (string) is what the shadow policy would have decided:
	// "allow" or "deny". The enforced verdict stands.
	KeyShadowVerdict attribute.Key = "ztagent.shadow.verdict"
	// KeyShadowCode (string) is the shadow policy's first reason code.
	KeyShadowCode attribute.Key = "ztagent.shadow.code"
	// KeyShadowFlip (string) is "allow_to_deny" or "deny_to_allow" when the
	// shadow policy disagrees with the enforced one; absent when they agree.
	KeyShadowFlip attribute.Key = "ztagent.shadow.flip"

	// KeyOutcome (string) is how the tool call ended: ok, denied, error or panic.
	KeyOutcome attribute.Key = "ztagent.outcome"
	// KeyOutcomeCode (string) is the stable code the guard gave for a denial
	// or failure (which may come from a step before the policy, such as an
	// expired identity).
	KeyOutcomeCode attribute.Key = "ztagent.outcome.code"
)

// LinkKindProposedBy is the KeyLinkKind value on the link from an execute_tool
// span to the chat span whose model turn proposed the call.
const LinkKindProposedBy = "proposed_by"

// linkMissingTurnNotRecorded is the KeyLinkMissing value when the proposing
// turn's chat span was not recorded (its TracerProvider records nothing,
// such as the global one when none is set) while the call's was: start the
// turn on the tracer the guard uses.
const linkMissingTurnNotRecorded = "turn_not_recorded"

// Span event names.
const (
	// EventToolCallProposed is added to a chat span for each tool call the
	// model proposed, with gen_ai.tool.call.id and gen_ai.tool.name. It is
	// ours, so it lives under ztagent.*: the GenAI conventions define no such
	// event, and a gen_ai.* name could clash with one they add later.
	EventToolCallProposed = "ztagent.tool_call.proposed"
	// EventApprovalRequested is added to execute_tool when the guard asks a
	// human (or approval service) to approve the call.
	EventApprovalRequested = "ztagent.approval.requested"
	// EventApprovalResolved is added to execute_tool when that approval was
	// answered, refused or timed out.
	EventApprovalResolved = "ztagent.approval.resolved"
	// EventCredentialIssued is added to execute_tool when a per-call
	// credential was minted (id, audience, TTL; never the token).
	EventCredentialIssued = "ztagent.credential.issued"
	// EventCredentialRevoked is added to execute_tool when the per-call
	// credential was revoked, or revocation failed.
	EventCredentialRevoked = "ztagent.credential.revoked"
	// EventShadowFlip is added to run_guardrail when the shadow policy
	// would have decided the other way, so flips can be searched for.
	EventShadowFlip = "ztagent.shadow.flip"
)

// Decision records as log events (LogSink).
// EventDecision is the event name of the OpenTelemetry log record a [LogSink]
// emits for each decision record.
const EventDecision = "ztagent.decision"

// Attribute keys of decision log records that spans do not carry. The other
// fields use the span keys of attributes.go and the GenAI conventions.
const (
	// KeyProposedBySpanID (string) is the span id of the chat span whose model
	// turn proposed the call.
	KeyProposedBySpanID attribute.Key = "ztagent.proposed_by.span_id"
	// KeyDestinations (string[]) are the destinations derived from the
	// arguments, as "scheme://host:port", "email:domain" or "path:/p".
	KeyDestinations attribute.Key = "ztagent.destinations"
	// KeyDecisionMessages (string[]) are the messages of the decision
	// reasons, in the order of ztagent.decision.reasons. They are kept out of
	// spans and belong to the decision record.
	KeyDecisionMessages attribute.Key = "ztagent.decision.messages"
	// KeyArgsValues (map) are the recorded argument values, redacted per
	// decision; absent unless recording them was asked for.
	KeyArgsValues attribute.Key = "ztagent.args.values"
	// KeyOutcomeError (string) is the error message of a failed or denied call.
	KeyOutcomeError attribute.Key = "ztagent.outcome.error"
	// KeyCallDurationMS (double) is how long the guarded call took, in
	// milliseconds.
	KeyCallDurationMS attribute.Key = "ztagent.call.duration_ms"
)
