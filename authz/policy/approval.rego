# Approval rules. They do not deny: they ask the guard for a human approval
# bound to the call's argument digest. Deny rules are decided first and
# stand whatever these say.
package ztagent

# The tool's approval setting, data.tools[<name>].approval:
#   "always"  every call needs approval, reads included;
#   "never"   no call needs approval from the rules in this file, however
#             the tool is declared and whatever the conversation read: the
#             deployer's explicit choice, for a destructive tool too;
#   absent or null: by effect, risk and taint (the rules below).
# Any other value needs approval on every call, as "always" does, with a
# code of its own: a typo such as "Never" must not weaken anything, nor be
# mistaken for a deliberate "always".
default tool_approval := "by_effect"

tool_approval := "always" if data.tools[tool_name].approval == "always"

tool_approval := "never" if data.tools[tool_name].approval == "never"

tool_approval := "unknown" if {
	setting := data.tools[tool_name].approval
	setting != null
	not setting in {"always", "never"}
}

approval_reasons contains {"code": "tool_setting_requires_approval", "message": sprintf("data.tools[%q].approval is \"always\"", [tool_name])} if {
	tool_approval == "always"
}

approval_reasons contains {"code": "unknown_approval_setting_requires_approval", "message": sprintf("data.tools[%q].approval is %s, not \"always\" or \"never\"; read as \"always\"", [tool_name, json.marshal(data.tools[tool_name].approval)])} if {
	tool_approval == "unknown"
}

# Without provenance (toolguard.Provenance), the policy cannot tell the
# user's values from an outsider's, so it asks by effect, risk and taint.
# With it, provenance.rego asks by where the call's values came from.
approval_reasons contains {"code": "write_requires_approval", "message": sprintf("tool effect %q changes state", [tool_effect])} if {
	not tracks_provenance
	tool_effect in {"write", "destructive"}
	tool_approval != "never"
}

approval_reasons contains {"code": "high_risk_requires_approval", "message": "tool risk is high"} if {
	not tracks_provenance
	tool_risk == "high"
	tool_approval != "never"
}

# Content from untrusted sources may have steered the model (prompt
# injection), so anything beyond a read needs a human.
approval_reasons contains {"code": "tainted_context_requires_approval", "message": "the conversation read untrusted content"} if {
	not tracks_provenance
	tainted
	tool_effect != "read"
	tool_approval != "never"
}

default approval := {"required": false}

approval := {
	"required": true,
	"reason": concat(", ", [r.code | some r in ordered(approval_reasons)]),
} if count(approval_reasons) > 0
