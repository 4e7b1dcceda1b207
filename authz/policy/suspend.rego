# A kill switch: data.suspended lists agents (by SPIFFE ID) and tasks (by
# id) whose every call is denied, before anything else is judged. Published
# in a signed bundle, it reaches every guard that polls it; a guard also
# revokes the task credentials of what it finds suspended.
package ztagent

suspended_agents := {a | some a in data.suspended.agents; is_string(a)}

suspended_tasks := {t | some t in data.suspended.tasks; is_string(t)}

deny contains {"code": "agent_suspended", "message": sprintf("agent %q is suspended (data.suspended.agents)", [agent_id])} if {
	agent_id in suspended_agents
}

deny contains {"code": "task_suspended", "message": sprintf("task %q is suspended (data.suspended.tasks)", [input.task.id])} if {
	input.task.id != ""
	input.task.id in suspended_tasks
}
