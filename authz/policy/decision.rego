# The decision document the engine reads (data.ztagent.decision).
# Deny by default: allow is true only when no deny rule fires.
package ztagent

default allow := false

allow if count(deny) == 0

decision := {
	"allow": allow,
	"reasons": reasons,
	"approval": approval,
	"credential": credential,
	"egress": egress,
	"redact": [],
	"cache": cache,
	"budgets": budgets,
}

# Reasons come most fundamental first: the first one is the code a caller
# sees, and "not granted" says more than "wrong host". Codes a user's own
# rules add come after these, in the set's order.
reason_order := [
	"agent_suspended", "task_suspended", "tool_not_granted", "unknown_effect", "task_expired",
	"destination_kind_unknown", "external_without_destination", "destination_not_allowed", "recipient_not_allowed", "argument_injection",
	"untrusted_destination", "budget_invalid", "budget_argument_invalid", "budget_exceeded",
	"unknown_approval_setting_requires_approval", "tool_setting_requires_approval",
	"untrusted_destination_requires_approval", "untrusted_argument_requires_approval",
	"unverified_destination_requires_approval", "provenance_overflow_requires_approval",
	"write_requires_approval", "high_risk_requires_approval", "tainted_context_requires_approval",
]

ordered(rs) := array.concat(
	[r | some code in reason_order; some r in rs; r.code == code],
	[r | some r in rs; not r.code in reason_order],
)

# On deny: why. On allow: what approval is needed, else a plain "allowed".
reasons := ordered(deny) if {
	not allow
} else := ordered(approval_reasons) if {
	count(approval_reasons) > 0
} else := [{"code": "allowed", "message": "tool call allowed by policy"}]
