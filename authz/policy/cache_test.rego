package ztagent_test

import data.ztagent

test_allowed_read_is_cacheable if {
	d := decide(base_input)
	d.allow == true
	d.cache == {"ttl_seconds": 5}
}

test_cache_ttl_from_data if {
	d := ztagent.decision with input as base_input with data.agents as agents with data.decision_cache_ttl_seconds as 2
	d.cache.ttl_seconds == 2
}

test_denied_read_is_not_cacheable if {
	d := decide(with_input({"tool": {"name": "drop_database", "effect": "read"}}))
	d.allow == false
	d.cache.ttl_seconds == 0
}

test_write_is_not_cacheable if {
	d := decide(with_input({"tool": {"name": "send_email", "effect": "write"}}))
	d.allow == true
	d.cache.ttl_seconds == 0
}

test_external_is_not_cacheable if {
	d := decide(with_input({
		"tool": {"name": "upload_report", "effect": "external"},
		"call": {"destinations": [url("docs.example.com")]},
	}))
	d.allow == true
	d.cache.ttl_seconds == 0
}

test_read_needing_approval_is_not_cacheable if {
	d := decide(with_input({"tool": {"risk": "high"}}))
	d.allow == true
	d.approval.required == true
	d.cache.ttl_seconds == 0
}

test_tainted_read_is_cacheable_taint_is_in_the_key if {
	d := decide(with_input({"context": {"taint": ["untrusted:web"]}}))
	d.allow == true
	d.cache.ttl_seconds == 5
}

test_expired_task_is_not_cacheable if {
	d := decide(with_input({"task": {"expires_at": "2026-11-30T11:00:00Z"}}))
	d.allow == false
	d.cache.ttl_seconds == 0
}

# A read whose tool setting asks for approval on every call is never reused:
# each call must reach a human.
test_read_with_approval_always_is_not_cacheable if {
	d := ztagent.decision with input as base_input
		with data.agents as agents
		with data.tools as {"read_file": {"approval": "always"}}
	d.allow == true
	d.approval.required == true
	d.cache.ttl_seconds == 0
}

test_read_with_unknown_approval_setting_is_not_cacheable if {
	d := ztagent.decision with input as base_input
		with data.agents as agents
		with data.tools as {"read_file": {"approval": "sometimes"}}
	d.approval.required == true
	d.cache.ttl_seconds == 0
}

test_read_with_approval_never_is_cacheable if {
	d := ztagent.decision with input as with_input({"tool": {"risk": "high"}})
		with data.agents as agents
		with data.tools as {"read_file": {"approval": "never"}}
	d.approval.required == false
	d.cache.ttl_seconds == 5
}

# "never" lifts approval, not the rule that only reads are reused.
test_write_with_approval_never_is_not_cacheable if {
	d := ztagent.decision with input as with_input({"tool": {"name": "send_email", "effect": "write"}})
		with data.agents as agents
		with data.tools as {"send_email": {"approval": "never"}}
	d.allow == true
	d.approval.required == false
	d.cache.ttl_seconds == 0
}
