package ztagent_test

import data.ztagent

test_credential_audience_is_first_host_destination if {
	d := decide(with_input({
		"tool": {"name": "fetch_url", "effect": "read"},
		"call": {"destinations": [{"kind": "path", "path": "/a"}, url("Docs.Example.com"), url("mail.example.com")]},
	}))
	d.credential.audience == "https://docs.example.com"
}

test_credential_audience_for_email_is_its_domain if {
	d := decide(with_input({
		"tool": {"name": "send_email", "effect": "external"},
		"call": {"destinations": [email("bob@mail.example.com", "mail.example.com")]},
	}))
	d.allow == true
	d.credential.audience == "https://mail.example.com"
}

test_credential_audience_without_destination_is_the_tool if {
	d := decide(base_input)
	d.credential.audience == "urn:ztagent:tool:read_file"
}

test_credential_scopes_from_data if {
	d := decide(with_input({"tool": {"name": "send_email", "effect": "write"}}))
	d.credential.scopes == ["email:send"]
}

test_credential_scopes_default_to_name_and_effect if {
	d := decide(with_input({"tool": {"name": "delete_record", "effect": "destructive"}}))
	d.credential.scopes == ["delete_record:destructive"]
}

test_credential_ttl_from_data if {
	d := ztagent.decision with input as base_input with data.agents as agents with data.credential_ttl_seconds as 30
	d.credential.ttl_seconds == 30
}

test_credential_ttl_defaults_to_60 if {
	d := ztagent.decision with input as base_input with data.agents as agents
	d.credential.ttl_seconds == 60
}

test_egress_hosts_are_the_allowed_hosts_of_the_call if {
	d := decide(with_input({
		"tool": {"name": "fetch_url", "effect": "read"},
		"call": {"destinations": [url("mail.example.com"), url("DOCS.example.com"), url("docs.example.com")]},
	}))
	d.allow == true
	d.egress.hosts == ["docs.example.com", "mail.example.com"]
}

test_egress_hosts_empty_without_destination if {
	d := decide(base_input)
	d.egress.hosts == []
}

# Private addresses for named hosts (agents[id].private_hosts).

private_agents := {
	agent_id: {
		"tools": ["fetch_url"],
		"hosts": ["docs.example.com", "Internal.Example", "localhost"],
		"private_hosts": ["internal.example", "LOCALHOST", "stray.example"],
	},
	"spiffe://ztagent.dev/agent/other": {
		"tools": ["fetch_url"],
		"hosts": ["docs.example.com", "internal.example"],
	},
}

decide_private(inp) := d if {
	d := ztagent.decision with input as inp with data.agents as private_agents
}

fetch(dests) := with_input({
	"tool": {"name": "fetch_url", "effect": "read"},
	"call": {"destinations": dests},
})

test_private_host_allows_private_addresses if {
	d := decide_private(fetch([url("internal.example")]))
	d.allow == true
	d.egress == {"hosts": ["internal.example"], "allow_private": true}
}

test_private_hosts_match_case_insensitively if {
	d := decide_private(fetch([url("Internal.EXAMPLE"), url("localhost")]))
	d.allow == true
	d.egress == {"hosts": ["internal.example", "localhost"], "allow_private": true}
}

test_path_destination_does_not_stop_private if {
	d := decide_private(fetch([{"kind": "path", "path": "/tmp/x"}, url("localhost")]))
	d.egress.allow_private == true
}

# The allowance holds for every granted name of the call, so a call that
# also reaches a host not listed as private does not get it.
test_private_host_mixed_with_granted_host_is_not_private if {
	d := decide_private(fetch([url("internal.example"), url("docs.example.com")]))
	d.allow == true
	d.egress == {"hosts": ["docs.example.com", "internal.example"], "allow_private": false}
}

test_private_host_mixed_with_denied_host_is_not_private if {
	d := decide_private(fetch([url("internal.example"), url("evil.example")]))
	d.allow == false
	codes(d) == {"destination_not_allowed"}
	d.egress.allow_private == false
}

test_granted_host_not_listed_private_is_not_private if {
	d := decide_private(fetch([url("docs.example.com")]))
	d.allow == true
	d.egress.allow_private == false
}

test_no_destination_is_not_private if {
	d := decide_private(with_input({"tool": {"name": "fetch_url", "effect": "read"}}))
	d.egress == {"hosts": [], "allow_private": false}
}

test_default_data_is_not_private if {
	d := decide(fetch([url("docs.example.com")]))
	d.egress.allow_private == false
}

# private_hosts qualifies hosts; it grants nothing on its own.
test_private_host_not_in_hosts_is_not_granted if {
	d := decide_private(fetch([url("stray.example")]))
	d.allow == false
	d.reasons == [{
		"code": "destination_not_allowed",
		"message": `destination host "stray.example" is not allowed for agent "spiffe://ztagent.dev/agent/quickstart": it is in data.agents["spiffe://ztagent.dev/agent/quickstart"].private_hosts but not in its hosts, and private_hosts only marks granted hosts`,
	}]
	d.egress == {"hosts": [], "allow_private": false}
}

# A private allowance is a grant, and grants are per agent.
test_private_hosts_of_another_agent_do_not_apply if {
	d := decide_private(object.union(fetch([url("internal.example")]), {"subject": {"spiffe_id": "spiffe://ztagent.dev/agent/other"}}))
	d.allow == true
	d.egress.allow_private == false
}

test_top_level_private_hosts_are_not_read if {
	d := ztagent.decision with input as fetch([url("docs.example.com")])
		with data.agents as agents
		with data.private_hosts as ["docs.example.com"]
	d.allow == true
	d.egress.allow_private == false
}
