package ztagent_test

import data.ztagent

test_read_of_granted_tool_is_allowed if {
	d := decide(base_input)
	d.allow == true
	d.reasons == [{"code": "allowed", "message": "tool call allowed by policy"}]
	d.approval == {"required": false}
	d.redact == []
}

test_deny_by_default_without_data if {
	d := ztagent.decision with input as base_input with data.agents as {}
	d.allow == false
	count(d.reasons) > 0
}

test_deny_by_default_on_empty_input if {
	d := ztagent.decision with input as {} with data.agents as agents
	d.allow == false
	"tool_not_granted" in codes(d)
	"unknown_effect" in codes(d)
}

test_decision_always_has_allow_and_reasons if {
	every inp in [base_input, {}, with_input({"tool": {"name": "nope"}})] {
		d := decide(inp)
		is_boolean(d.allow)
		is_array(d.reasons)
		count(d.reasons) > 0
	}
}

test_allow_is_exactly_no_deny if {
	d := decide(with_input({"tool": {"name": "nope", "effect": "teleport"}}))
	d.allow == false
	codes(d) == {"tool_not_granted", "unknown_effect"}
}

test_deny_reasons_most_fundamental_first if {
	d := decide(with_input({
		"tool": {"name": "nope", "effect": "read"},
		"call": {"destinations": [{"kind": "url", "scheme": "https", "host": "evil.example", "port": 443}]},
	}))
	d.allow == false
	[r.code | some r in d.reasons] == ["tool_not_granted", "destination_not_allowed"]
}
