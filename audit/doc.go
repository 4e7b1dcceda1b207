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
//	└─ execute_tool {tool}           StartToolCall: the action path, linked to the
//	   │                             chat span that proposed the call
//	   └─ run_guardrail ztagent.authz  ToolSpan.StartGuardrail
//
// The run_guardrail span is the policy's evaluation, so a call whose decision
// is served from the decision cache (the policy marked it cacheable; see
// authz.WithDecisionCache) has none: [ToolSpan.DecisionCached] puts the cached
// verdict, code, policy id and revision on the execute_tool span with
// ztagent.decision.cached = true, and the decision record says cached too.
// Every evaluated decision, allowed or denied, still has its run_guardrail
// span.
//
// The chat and execute_tool spans are siblings: a tool runs after the model turn
// that proposed it has ended, so nesting it under the turn would misstate time.
// The causal edge is a span link instead. [Tracer.StartTurn] returns a context
// that remembers the turn without making the chat span active, and
// [Tracer.StartToolCall] looks the proposing turn up with [ProposedBy].
//
// # Safe defaults
//
//   - Prompt text is never recorded; a turn carries only ztagent.prompt.digest,
//     the SHA-256 of the prompt, so a prompt kept elsewhere can be matched.
//   - Credential tokens are not accepted by any function here; only the
//     credential id, audience and TTL are recorded.
//   - Error messages passed in (Outcome.Err, Verdict.Err, CredentialRevoked) are
//     recorded as given: callers must keep secrets out of them.
//   - A nil TracerProvider means the global one (otel.GetTracerProvider), so
//     with no OpenTelemetry setup the spans cost next to nothing.
//   - Zero values are usable: a zero [Tracer] uses the global provider, and a
//     zero ToolSpan, TurnRecorder or GuardrailSpan records nothing and never
//     panics.
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
//	callCtx, ts := tr.StartToolCall(turnCtx, audit.ToolCall{Name: "send_email", CallID: "call_7", Effect: "write"})
//	_, g := ts.StartGuardrail(callCtx)
//	g.End(audit.Verdict{Allow: true, Code: "allowed"})
//	ts.End(audit.Outcome{Status: audit.StatusOK})
//	_ = sink.Write(ctx, &audit.Record{ /* ... */ })
package audit
