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
