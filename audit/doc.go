// Package audit records what an AI agent was asked to do and what it then did,
// so an investigator can follow one tool call from the model turn that proposed
// it to the policy decision, credential and outcome that followed.
//
// It produces two things:
//
//   - OpenTelemetry spans that follow the GenAI semantic conventions
//     (invoke_agent, chat, execute_tool), plus a run_guardrail span for the
//     authorization decision and ztagent.* attributes and events for identity,
//     approval and credentials. Every ztagent.* key is listed in attributes.go.
//   - Decision records ([Record]) written to a [Sink], one per tool call,
//     allowed or denied. Records do not depend on sampling: a trace sampler
//     may drop spans, an auditor may not lose decisions.
//
// # Span shape
//
//	invoke_agent {agent}             StartAgent
//	├─ chat {model}                  StartTurn: one model turn (prompt path)
//	└─ execute_tool {tool}           CallRecorder.Start: the action path, linked
//	   │                             to the chat span that proposed the call
//	   └─ run_guardrail ztagent.authz  Call.StartDecision
//
// # The action path
//
// One owner writes a tool call's span and its decision record together: a
// [CallRecorder], built once by the guard (package toolguard does this for
// you), starts a [Call] per tool call, and the Call has one method per step
// of the call's path — Identity, Destinations, StartDecision and Decided,
// ApprovalRequested and ApprovalResolved, CredentialIssued, Authorized (the
// strict-records rule), CredentialRevoked, End. Each step sets the span's
// attributes and events and the record's fields; End writes the record to
// the [Sink] and counts what the sink refused.
//
// The run_guardrail span is the policy's evaluation, so a call whose decision
// is served from the decision cache (the policy marked it cacheable; see
// authz.WithDecisionCache) has none: [Call.Decided] then puts the cached
// verdict, code, policy id and revision on the execute_tool span with
// ztagent.decision.cached = true, and the decision record says cached too.
// Every evaluated decision, allowed or denied, still has its run_guardrail
// span.
//
// The chat and execute_tool spans are siblings: a tool runs after the model turn
// that proposed it has ended, so nesting it under the turn would misstate time.
// The causal edge is a span link instead. [Tracer.StartTurn] returns a context
// that remembers the turn without making the chat span active, and
// [CallRecorder.Start] looks the proposing turn up. Start turns on the tracer
// the calls are recorded with ([CallRecorder.Tracer], or toolguard's
// Guard.StartTurn): a turn on a TracerProvider that records nothing leaves
// the call unlinked, which the call's span (ztagent.link.missing) and
// [CallRecorder.Unlinked] say.
//
// # Safe defaults
//
//   - Prompt text is not recorded unless a turn asks for it (Turn.RecordPrompt,
//     opt-in, as the GenAI conventions make gen_ai.input.messages); a turn
//     carries ztagent.prompt.digest, the SHA-256 of the prompt, so a prompt
//     kept elsewhere can be matched.
//   - Credential tokens are not accepted by any function here; only the
//     credential id, audience and TTL are recorded.
//   - Error messages passed in (Outcome.Err, Verdict.Err, CredentialRevoked) are
//     recorded as given: callers must keep secrets out of them.
//   - A nil TracerProvider means the global one (otel.GetTracerProvider), so
//     with no OpenTelemetry setup the spans cost next to nothing.
//   - Zero values are usable: a zero [Tracer] uses the global provider, and a
//     nil [Call] or a zero TurnRecorder records nothing and never panics.
//
// # Usage
//
//	tr := audit.NewTracer(tp)
//	ctx, agent := tr.StartAgent(ctx, audit.Agent{Name: "support", ConversationID: "c-1"})
//	defer agent.End()
//	turnCtx, turn := tr.StartTurn(ctx, audit.Turn{Model: "claude-x", Number: 1, Prompt: prompt})
//	for _, call := range modelToolCalls {
//		turn.Proposed(call.ID, call.Name)
//	}
//	turn.End()
//	// later, per call (toolguard does this for you):
//	calls, _ := audit.NewCallRecorder(tr, sink)
//	callCtx, c := calls.Start(turnCtx, audit.CallStart{Tool: "send_email", CallID: "call_7", Effect: "write"})
//	c.StartDecision(callCtx)
//	c.Decided(audit.Verdict{Allow: true, Code: "allowed"}, false)
//	_ = c.End(callCtx, audit.Outcome{Status: audit.StatusOK}) // ends the span, writes the record
package audit
