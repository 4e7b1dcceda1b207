package audit

import "go.opentelemetry.io/otel/attribute"

// OpenTelemetry GenAI semantic convention names (status: Development), defined
// here rather than imported so the library does not pin a semconv module whose
// GenAI names are still moving. Source: semantic-conventions docs/gen-ai
// (gen-ai-spans.md, gen-ai-agent-spans.md) and the GenAI attribute registry.
const (
	keyGenAIOperationName  attribute.Key = "gen_ai.operation.name"
	keyGenAIToolName       attribute.Key = "gen_ai.tool.name"
	keyGenAIToolCallID     attribute.Key = "gen_ai.tool.call.id"
	keyGenAIToolType       attribute.Key = "gen_ai.tool.type"
	keyGenAIConversationID attribute.Key = "gen_ai.conversation.id"
	keyGenAIRequestModel   attribute.Key = "gen_ai.request.model"
	keyGenAIProviderName   attribute.Key = "gen_ai.provider.name"
	keyGenAIAgentName      attribute.Key = "gen_ai.agent.name"
	// keyGenAIInputMessages is opt-in in the conventions: it holds what users type.
	keyGenAIInputMessages attribute.Key = "gen_ai.input.messages"
	keyErrorType          attribute.Key = "error.type"
)

// Well-known gen_ai.operation.name values.
const (
	opInvokeAgent = "invoke_agent"
	opChat        = "chat"
	opExecuteTool = "execute_tool"
	// opRunGuardrail is not in the conventions yet: it is the operation name of
	// the open proposal for guardrail spans (semantic-conventions-genai PR 427).
	// The conventions allow custom values when no predefined one applies.
	opRunGuardrail = "run_guardrail"
)

// toolTypeFunction is the gen_ai.tool.type for a tool executed by the
// application's own code (the other values are "extension" and "datastore").
const toolTypeFunction = "function"

// errorTypeOther is error.type's fallback when no lower-cardinality code is known.
const errorTypeOther = "_OTHER"

// spanName follows the conventions' "{operation} {target}" pattern and drops the
// target when it is unknown rather than leaving a trailing space.
func spanName(op, target string) string {
	if target == "" {
		return op
	}
	return op + " " + target
}
