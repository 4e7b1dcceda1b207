# Approval rules. They do not deny: they ask the guard for a human approval
# bound to the call's argument digest.
package ztagent

approval_reasons contains {"code": "write_requires_approval", "message": sprintf("tool effect %q changes state", [tool_effect])} if {
	tool_effect in {"write", "destructive"}
}

approval_reasons contains {"code": "high_risk_requires_approval", "message": "tool risk is high"} if {
	tool_risk == "high"
}

# Content from untrusted sources may have steered the model (prompt
# injection), so anything beyond a read needs a human.
approval_reasons contains {"code": "tainted_context_requires_approval", "message": "the conversation read untrusted content"} if {
	tainted
	tool_effect != "read"
}

default approval := {"required": false}

approval := {
	"required": true,
	"reason": concat(", ", [r.code | some r in ordered(approval_reasons)]),
} if count(approval_reasons) > 0
