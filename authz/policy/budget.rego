# Budgets over time: data.agents[id].budgets[tool] lists limits on the
# calls of a tool, the sum of one of its numeric arguments (an amount paid)
# and the distinct destinations it reaches, per agent or per task, over a
# sliding window:
#
#   {"per": "task", "metric": "sum", "arg": "amount", "limit": 1000, "window_seconds": 86400}
#
# input.usage says what each budget holds now; the decision's budgets list
# what the call would use, which the guard reserves atomically before the
# call runs (two calls cannot both take the last unit).
package ztagent

default tool_budgets := []

tool_budgets := bs if {
	bs := agent.budgets[tool_name]
	is_array(bs)
}

budget_metrics := {"calls", "sum", "destinations"}

budget_shape_ok(b) if {
	is_object(b)
	b.per in {"agent", "task"}
	b.metric in budget_metrics
	is_number(b.limit)
	b.limit >= 0
	is_number(b.window_seconds)
	b.window_seconds > 0
	b.window_seconds == round(b.window_seconds)
}

valid_budget(b) if {
	budget_shape_ok(b)
	b.metric != "sum"
}

valid_budget(b) if {
	budget_shape_ok(b)
	b.metric == "sum"
	is_string(b.arg)
	b.arg != ""
}

# A budget the policy cannot read cannot be kept, so it denies.
deny contains {"code": "budget_invalid", "message": sprintf("data.agents[%q].budgets[%q] is not a list of budgets", [agent_id, tool_name])} if {
	bs := agent.budgets[tool_name]
	not is_array(bs)
}

deny contains {"code": "budget_invalid", "message": sprintf("data.agents[%q].budgets[%q][%d] is not a budget: want per (agent or task), metric (calls, sum with arg, or destinations), a limit and whole window_seconds", [agent_id, tool_name, i])} if {
	some i, b in tool_budgets
	not valid_budget(b)
}

budget_applies(b) if b.per == "agent"

budget_applies(b) if {
	b.per == "task"
	object.get(input, ["task", "id"], "") != ""
}

budget_amount(b) := 1 if b.metric == "calls"

budget_amount(b) := 0 if b.metric == "destinations"

budget_amount(b) := x if {
	b.metric == "sum"
	x := input.call.args[b.arg]
	is_number(x)
	x >= 0
}

deny contains {"code": "budget_argument_invalid", "message": sprintf("argument %q counts against a budget and must be a number of zero or more", [b.arg])} if {
	some b in tool_budgets
	valid_budget(b)
	budget_applies(b)
	b.metric == "sum"
	not budget_amount(b)
}

budget_metric(b) := concat("", ["sum:", b.arg]) if b.metric == "sum"

budget_metric(b) := b.metric if b.metric != "sum"

# input.usage, not input with a computed path: the decision cache keeps
# out of its key the fields no rule can read (see authz's cache).
usage_doc := u if {
	u := input.usage
	is_object(u)
} else := {}

budget_used(b) := object.get(usage_doc, [b.per, tool_name, "sum", b.arg], 0) if b.metric == "sum"

budget_used(b) := object.get(usage_doc, [b.per, tool_name, b.metric], 0) if b.metric != "sum"

# The destinations of the call as budgets count them, each once.
budget_members := sort({m |
	some d in destinations
	m := budget_member(d)
})

budget_member(d) := concat(":", ["host", lower(d.host)]) if d.kind == "url"

budget_member(d) := concat(":", ["email", lower(d.address)]) if d.kind == "email"

budget_member(d) := concat(":", ["recipient", d.type, d.address]) if d.kind == "recipient"

# Usage the policy can see: the guard's reservation is what holds when
# calls race, and judges destinations (which may already be counted).
deny contains {"code": "budget_exceeded", "message": sprintf("the %s budget of %q for %s is used up: %v in the last %v seconds, limit %v", [b.per, budget_metric(b), tool_name, budget_used(b) + budget_amount(b), b.window_seconds, b.limit])} if {
	some b in tool_budgets
	valid_budget(b)
	budget_applies(b)
	b.metric != "destinations"
	budget_used(b) + budget_amount(b) > b.limit
}

budget_use(b) := {
	"scope": b.per,
	"metric": budget_metric(b),
	"amount": budget_amount(b),
	"members": budget_members,
	"limit": b.limit,
	"window_seconds": b.window_seconds,
}

# A destinations budget is used only by a call that reaches somewhere.
used_by_call(b) if b.metric != "destinations"

used_by_call(b) if {
	b.metric == "destinations"
	count(budget_members) > 0
}

budgets := [budget_use(b) |
	some b in tool_budgets
	valid_budget(b)
	budget_applies(b)
	budget_amount(b) >= 0
	used_by_call(b)
]
