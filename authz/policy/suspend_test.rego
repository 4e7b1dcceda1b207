package ztagent_test

import data.ztagent

test_suspended_agent_denied_first if {
	d := ztagent.decision with input as base_input
		with data.agents as agents
		with data.suspended as {"agents": [agent_id]}
	d.allow == false
	d.reasons[0].code == "agent_suspended"
	d.reasons[0].message == `agent "spiffe://ztagent.dev/agent/quickstart" is suspended (data.suspended.agents)`
}

test_suspended_task_denied if {
	d := ztagent.decision with input as base_input
		with data.agents as agents
		with data.suspended as {"tasks": ["t-1"]}
	codes(d) == {"task_suspended"}
}

test_suspension_of_others_does_not_apply if {
	d := ztagent.decision with input as base_input
		with data.agents as agents
		with data.suspended as {"agents": ["spiffe://ztagent.dev/agent/other"], "tasks": ["t-2"]}
	d.allow == true
}

test_no_task_is_not_a_suspended_empty_task if {
	d := ztagent.decision with input as json.remove(base_input, ["task/id"])
		with data.agents as agents
		with data.suspended as {"tasks": [""]}
	d.allow == true
}
