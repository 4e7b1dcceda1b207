package ztagent_test

import data.ztagent

test_write_requires_approval if {
	d := decide(with_input({"tool": {"name": "send_email", "effect": "write"}}))
	d.allow == true
	d.approval == {"required": true, "reason": "write_requires_approval"}
	codes(d) == {"write_requires_approval"}
}

test_destructive_requires_approval if {
	d := decide(with_input({"tool": {"name": "delete_record", "effect": "destructive"}}))
	d.approval.required == true
	codes(d) == {"write_requires_approval"}
}

test_high_risk_requires_approval if {
	d := decide(with_input({"tool": {"risk": "high"}}))
	d.allow == true
	d.approval == {"required": true, "reason": "high_risk_requires_approval"}
}

test_tainted_context_requires_approval if {
	d := decide(with_input({
		"tool": {"name": "fetch_url", "effect": "external"},
		"call": {"destinations": [url("docs.example.com")]},
		"context": {"taint": ["untrusted:web"]},
	}))
	d.allow == true
	d.approval == {"required": true, "reason": "tainted_context_requires_approval"}
}

test_peer_claimed_taint_counts_as_taint if {
	d := decide(with_input({
		"tool": {"name": "fetch_url", "effect": "external"},
		"call": {"destinations": [url("docs.example.com")]},
		"peer": {"id": "spiffe://ztagent.dev/agent/planner", "taint": ["untrusted:email"]},
	}))
	d.allow == true
	d.approval == {"required": true, "reason": "tainted_context_requires_approval"}
}

test_peer_without_claims_changes_nothing if {
	d := decide(with_input({
		"tool": {"name": "fetch_url", "effect": "external"},
		"call": {"destinations": [url("docs.example.com")]},
		"peer": {"id": "spiffe://ztagent.dev/agent/planner", "chain": ["user:mallory"]},
	}))
	d.allow == true
	d.approval == {"required": false}
}

test_tainted_read_needs_no_approval if {
	d := decide(with_input({"context": {"taint": ["untrusted:web"]}}))
	d.allow == true
	d.approval == {"required": false}
}

test_approval_reasons_combine if {
	d := decide(with_input({
		"tool": {"name": "delete_record", "effect": "destructive", "risk": "high"},
		"context": {"taint": ["untrusted:email"]},
	}))
	d.allow == true
	d.approval.reason == "write_requires_approval, high_risk_requires_approval, tainted_context_requires_approval"
	codes(d) == {"high_risk_requires_approval", "tainted_context_requires_approval", "write_requires_approval"}
}

test_denied_call_reports_deny_reasons_not_approvals if {
	d := decide(with_input({"tool": {"name": "drop_database", "effect": "destructive"}}))
	d.allow == false
	codes(d) == {"tool_not_granted"}
}

# Approval per tool (data.tools[<name>].approval).

decide_with_approval(inp, name, setting) := d if {
	d := ztagent.decision with input as inp
		with data.agents as agents
		with data.tools as object.union(tools, {name: {"approval": setting}})
}

test_tool_setting_always_requires_approval_for_a_read if {
	d := decide_with_approval(base_input, "read_file", "always")
	d.allow == true
	d.approval == {"required": true, "reason": "tool_setting_requires_approval"}
	d.reasons == [{"code": "tool_setting_requires_approval", "message": `data.tools["read_file"].approval is "always"`}]
}

test_tool_setting_always_comes_before_effect_reasons if {
	d := decide_with_approval(with_input({"tool": {"name": "send_email", "effect": "write"}}), "send_email", "always")
	d.approval.reason == "tool_setting_requires_approval, write_requires_approval"
}

test_tool_setting_never_lifts_every_approval_rule if {
	d := decide_with_approval(
		with_input({
			"tool": {"name": "delete_record", "effect": "destructive", "risk": "high"},
			"context": {"taint": ["untrusted:web"]},
		}),
		"delete_record", "never",
	)
	d.allow == true
	d.approval == {"required": false}
	codes(d) == {"allowed"}
}

# Deny rules come first: "never" changes what needs a human, not what is allowed.
test_tool_setting_never_does_not_lift_denials if {
	denied := [
		decide_with_approval(with_input({"tool": {"name": "drop_database", "effect": "destructive"}}), "drop_database", "never"),
		decide_with_approval(
			with_input({
				"tool": {"name": "send_email", "effect": "external"},
				"call": {"destinations": [email("eve@evil.example.net", "evil.example.net")]},
			}),
			"send_email", "never",
		),
		decide_with_approval(with_input({"tool": {"name": "upload_report", "effect": "external"}}), "upload_report", "never"),
		decide_with_approval(with_input({"tool": {"name": "delete_record", "effect": "destructive"}, "task": {"expires_at": "2026-11-30T11:00:00Z"}}), "delete_record", "never"),
	]
	[[r.code | some r in d.reasons] | some d in denied] == [
		["tool_not_granted"],
		["destination_not_allowed"],
		["external_without_destination"],
		["task_expired"],
	]
	every d in denied {
		d.allow == false
	}
}

test_tool_setting_of_another_tool_does_not_apply if {
	d := decide_with_approval(with_input({"tool": {"name": "send_email", "effect": "write"}}), "read_file", "never")
	d.approval == {"required": true, "reason": "write_requires_approval"}
}

test_tool_setting_null_or_absent_is_by_effect if {
	d := decide_with_approval(with_input({"tool": {"name": "send_email", "effect": "write"}}), "send_email", null)
	d.approval == {"required": true, "reason": "write_requires_approval"}
	r := decide_with_approval(base_input, "read_file", null)
	r.approval == {"required": false}
	s := ztagent.decision with input as base_input with data.agents as agents with data.tools as {"read_file": {"scopes": ["files:read"]}}
	s.approval == {"required": false}
}

# A value other than "always" or "never" weakens nothing: it is read as
# "always", under a code of its own so the typo shows.
test_unknown_tool_setting_requires_approval if {
	d := decide_with_approval(base_input, "read_file", "Never")
	d.allow == true
	d.approval == {"required": true, "reason": "unknown_approval_setting_requires_approval"}
	d.reasons == [{
		"code": "unknown_approval_setting_requires_approval",
		"message": `data.tools["read_file"].approval is "Never", not "always" or "never"; read as "always"`,
	}]
}

test_unknown_tool_setting_of_any_type_requires_approval if {
	every setting in [false, true, 0, "", "sometimes", ["never"], {"never": true}] {
		d := decide_with_approval(base_input, "read_file", setting)
		d.approval == {"required": true, "reason": "unknown_approval_setting_requires_approval"}
	}
}

test_unknown_tool_setting_keeps_effect_reasons if {
	d := decide_with_approval(with_input({"tool": {"name": "delete_record", "effect": "destructive"}}), "delete_record", "nevr")
	d.approval.reason == "unknown_approval_setting_requires_approval, write_requires_approval"
}
