package ztagent_test

import data.ztagent

test_tool_not_granted if {
	d := decide(with_input({"tool": {"name": "drop_database"}}))
	d.allow == false
	codes(d) == {"tool_not_granted"}
	d.reasons[0].message == `tool "drop_database" is not granted to agent "spiffe://ztagent.dev/agent/quickstart": it is not in data.agents["spiffe://ztagent.dev/agent/quickstart"].tools`
}

test_tool_not_granted_for_unknown_agent if {
	d := decide(with_input({"subject": {"spiffe_id": "spiffe://ztagent.dev/agent/other"}}))
	d.allow == false
	codes(d) == {"tool_not_granted"}
	d.reasons == [{
		"code": "tool_not_granted",
		"message": `tool "read_file" is not granted: no grants for agent "spiffe://ztagent.dev/agent/other" in data.agents`,
	}]
}

test_tool_not_granted_without_agents_data if {
	d := ztagent.decision with input as base_input
	d.allow == false
	d.reasons[0].message == `tool "read_file" is not granted: no grants for agent "spiffe://ztagent.dev/agent/quickstart" in data.agents`
}

test_tool_not_granted_without_subject if {
	d := decide(json.remove(base_input, ["subject"]))
	d.allow == false
	d.reasons[0].message == `tool "read_file" is not granted: no grants for agent "" in data.agents`
}

# An entry with no tools is an entry: the message points at its tools.
test_tool_not_granted_for_agent_without_tools if {
	d := ztagent.decision with input as base_input with data.agents as {agent_id: {"hosts": ["docs.example.com"]}}
	d.allow == false
	d.reasons[0].message == `tool "read_file" is not granted to agent "spiffe://ztagent.dev/agent/quickstart": it is not in data.agents["spiffe://ztagent.dev/agent/quickstart"].tools`
}

test_destination_not_allowed if {
	d := decide(with_input({
		"tool": {"name": "fetch_url", "effect": "read"},
		"call": {"destinations": [url("docs.example.com"), url("evil.example.net")]},
	}))
	d.allow == false
	d.reasons == [{
		"code": "destination_not_allowed",
		"message": `destination host "evil.example.net" is not allowed for agent "spiffe://ztagent.dev/agent/quickstart": it is not in data.agents["spiffe://ztagent.dev/agent/quickstart"].hosts`,
	}]
	d.egress.hosts == ["docs.example.com"]
}

test_destination_not_allowed_for_unknown_agent if {
	d := decide(with_input({
		"subject": {"spiffe_id": "spiffe://ztagent.dev/agent/other"},
		"call": {"destinations": [url("docs.example.com")]},
	}))
	d.allow == false
	[r.code | some r in d.reasons] == ["tool_not_granted", "destination_not_allowed"]
	d.reasons[1].message == `destination host "docs.example.com" is not allowed: no grants for agent "spiffe://ztagent.dev/agent/other" in data.agents`
}

test_destination_not_allowed_for_email_domain if {
	d := decide(with_input({
		"tool": {"name": "send_email", "effect": "external"},
		"call": {"destinations": [email("eve@evil.example.net", "evil.example.net")]},
	}))
	d.allow == false
	"destination_not_allowed" in codes(d)
}

test_destination_not_allowed_without_host if {
	d := decide(with_input({
		"tool": {"name": "fetch_url", "effect": "read"},
		"call": {"destinations": [{"kind": "url", "scheme": "https"}]},
	}))
	d.allow == false
	codes(d) == {"destination_not_allowed"}
}

test_destination_host_match_is_case_insensitive if {
	d := decide(with_input({
		"tool": {"name": "fetch_url", "effect": "read"},
		"call": {"destinations": [url("DOCS.example.com"), url("mail.example.com")]},
	}))
	d.allow == true
}

test_path_destination_is_not_host_checked if {
	d := decide(with_input({"call": {"destinations": [{"kind": "path", "path": "/srv/docs/a.txt"}]}}))
	d.allow == true
}

test_destination_kind_unknown if {
	d := decide(with_input({"call": {"destinations": [{"kind": "ftp", "host": "docs.example.com"}]}}))
	d.allow == false
	codes(d) == {"destination_kind_unknown"}
}

test_external_without_destination if {
	d := decide(with_input({"tool": {"name": "upload_report", "effect": "external"}}))
	d.allow == false
	codes(d) == {"external_without_destination"}
}

test_external_with_path_only_has_no_destination if {
	d := decide(with_input({
		"tool": {"name": "upload_report", "effect": "external"},
		"call": {"destinations": [{"kind": "path", "path": "/tmp/x"}]},
	}))
	d.allow == false
	codes(d) == {"external_without_destination"}
}

test_external_with_allowed_destination if {
	d := decide(with_input({
		"tool": {"name": "upload_report", "effect": "external"},
		"call": {"destinations": [url("docs.example.com")]},
	}))
	d.allow == true
}

test_task_expired if {
	d := decide(with_input({"task": {"expires_at": "2026-11-30T11:59:59Z"}}))
	d.allow == false
	codes(d) == {"task_expired"}
}

test_task_expired_at_exactly_now if {
	d := decide(with_input({"task": {"expires_at": "2026-11-30T12:00:00Z"}}))
	codes(d) == {"task_expired"}
}

test_task_not_expired if {
	d := decide(with_input({"task": {"expires_at": "2026-11-30T12:00:00.000000001Z"}}))
	d.allow == true
}

test_task_expired_when_time_missing if {
	inp := json.remove(with_input({"task": {"expires_at": "2030-01-01T00:00:00Z"}}), ["time"])
	d := decide(inp)
	codes(d) == {"task_expired"}
}

test_task_without_expiry_never_expires if {
	d := decide(with_input({"task": {"expires_at": null}}))
	d.allow == true
}

test_unknown_effect if {
	d := decide(with_input({"tool": {"effect": "Read"}}))
	d.allow == false
	codes(d) == {"unknown_effect"}
}

test_unknown_effect_when_missing if {
	d := decide(json.remove(base_input, ["tool/effect"]))
	codes(d) == {"unknown_effect"}
}

test_argument_injection if {
	d := decide(with_input({"call": {"destinations": [{"kind": "argv"}, {"kind": "argv", "flagged": true}]}}))
	d.allow == false
	codes(d) == {"argument_injection"}
}

test_argument_injection_not_flagged_is_allowed if {
	d := decide(with_input({"call": {"destinations": [{"kind": "argv"}, {"kind": "argv", "flagged": false}]}}))
	d.allow == true
}

# A flagged value that is not a boolean is still flagged: only an absent or
# false flag passes.
test_argument_injection_flag_of_any_type_denies if {
	d := decide(with_input({"call": {"destinations": [{"kind": "argv", "flagged": "yes"}]}}))
	d.allow == false
	codes(d) == {"argument_injection"}
}
