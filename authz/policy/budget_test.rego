package ztagent_test

import data.ztagent

budget_agents := {agent_id: {
	"tools": ["send_money", "read_file"],
	"recipients": {"iban": ["DE89370400440532013000"]},
	"budgets": {
		"send_money": [
			{"per": "task", "metric": "sum", "arg": "amount", "limit": 1000, "window_seconds": 86400},
			{"per": "agent", "metric": "calls", "limit": 3, "window_seconds": 3600},
			{"per": "agent", "metric": "destinations", "limit": 2, "window_seconds": 86400},
		],
		"read_file": [{"per": "agent", "metric": "calls", "limit": 100, "window_seconds": 60}],
	},
}}

send(amount, usage) := d if {
	d := ztagent.decision with input as with_input({
		"tool": {"name": "send_money", "effect": "external"},
		"call": {"args": {"amount": amount}, "destinations": [recipient("iban", "DE89370400440532013000")]},
		"usage": usage,
	})
		with data.agents as budget_agents
}

test_budgets_listed_for_the_guard if {
	d := send(150, {})
	d.allow == true
	d.budgets == [
		{"scope": "task", "metric": "sum:amount", "amount": 150, "members": ["recipient:iban:DE89370400440532013000"], "limit": 1000, "window_seconds": 86400},
		{"scope": "agent", "metric": "calls", "amount": 1, "members": ["recipient:iban:DE89370400440532013000"], "limit": 3, "window_seconds": 3600},
		{"scope": "agent", "metric": "destinations", "amount": 0, "members": ["recipient:iban:DE89370400440532013000"], "limit": 2, "window_seconds": 86400},
	]
}

test_budget_exceeded_by_usage if {
	d := send(150, {"task": {"send_money": {"calls": 1, "sum": {"amount": 900}, "destinations": 1}}})
	d.allow == false
	codes(d) == {"budget_exceeded"}
	d.reasons[0].message == `the task budget of "sum:amount" for send_money is used up: 1050 in the last 86400 seconds, limit 1000`
}

test_budget_exactly_at_the_limit_is_within if {
	d := send(100, {"task": {"send_money": {"sum": {"amount": 900}}}, "agent": {"send_money": {"calls": 2}}})
	d.allow == true
}

test_call_budget_exceeded if {
	d := send(1, {"agent": {"send_money": {"calls": 3}}})
	codes(d) == {"budget_exceeded"}
}

test_task_budget_needs_a_task if {
	d := ztagent.decision with input as json.remove(with_input({
		"tool": {"name": "send_money", "effect": "external"},
		"call": {"args": {"amount": 5}, "destinations": [recipient("iban", "DE89370400440532013000")]},
	}), ["task/id"])
		with data.agents as budget_agents
	d.allow == true
	[b.scope | some b in d.budgets] == ["agent", "agent"]
}

test_budget_argument_invalid if {
	every amount in ["150", -1, null, true] {
		d := send(amount, {})
		"budget_argument_invalid" in codes(d)
		d.allow == false
	}
}

test_budget_invalid_data if {
	every bad in [
		"not a list",
		[{"per": "week", "metric": "calls", "limit": 1, "window_seconds": 60}],
		[{"per": "agent", "metric": "sum", "limit": 1, "window_seconds": 60}],
		[{"per": "agent", "metric": "calls", "limit": "1", "window_seconds": 60}],
		[{"per": "agent", "metric": "calls", "limit": 1, "window_seconds": 0.5}],
		[{"per": "agent", "metric": "calls", "limit": -1, "window_seconds": 60}],
	] {
		d := ztagent.decision with input as with_input({"tool": {"name": "read_file"}})
			with data.agents as {agent_id: {"tools": ["read_file"], "budgets": {"read_file": bad}}}
		d.allow == false
		"budget_invalid" in codes(d)
	}
}

# A read with a budget is never reused from the cache: each use is reserved.
test_budgeted_read_is_not_cacheable if {
	d := ztagent.decision with input as base_input with data.agents as budget_agents
	d.allow == true
	count(d.budgets) == 1
	d.cache.ttl_seconds == 0
}

test_no_budgets_no_uses if {
	d := decide(base_input)
	d.budgets == []
}

# A single use over the limit is refused with no usage at all.
test_budget_exceeded_without_usage if {
	d := send(1500, {})
	codes(d) == {"budget_exceeded"}
	d2 := ztagent.decision with input as json.remove(with_input({
		"tool": {"name": "send_money", "effect": "external"},
		"call": {"args": {"amount": 1500}, "destinations": [recipient("iban", "DE89370400440532013000")]},
	}), ["usage"])
		with data.agents as budget_agents
	codes(d2) == {"budget_exceeded"}
}
