# Deny rules. Each adds one reason with a stable code; the call is allowed
# only when none fires.
package ztagent

# Denials name the agent and where its grants were looked up, so that a
# deployer can see which entry of the data to fix.
deny contains {"code": "tool_not_granted", "message": sprintf("tool %q is not granted: no grants for agent %q in data.agents", [tool_name, agent_id])} if {
	not tool_granted
	not agent_listed
}

deny contains {"code": "tool_not_granted", "message": sprintf("tool %q is not granted to agent %q: it is not in data.agents[%q].tools", [tool_name, agent_id, agent_id])} if {
	not tool_granted
	agent_listed
}

deny contains {"code": "unknown_effect", "message": sprintf("tool effect %q is not one of read, write, destructive, external", [tool_effect])} if {
	not tool_effect in known_effects
}

deny contains {"code": "destination_not_allowed", "message": destination_denial(object.get(d, "host", ""))} if {
	some d in host_destinations
	not host_allowed(d)
}

destination_denial(host) := sprintf("destination host %q is not allowed: no grants for agent %q in data.agents", [host, agent_id]) if {
	not agent_listed
} else := sprintf("destination host %q is not allowed for agent %q: it is in data.agents[%q].private_hosts but not in its hosts, and private_hosts only marks granted hosts", [host, agent_id, agent_id]) if {
	lower(host) in listed_private_hosts
} else := sprintf("destination host %q is not allowed for agent %q: it is not in data.agents[%q].hosts", [host, agent_id, agent_id])

# A destination the policy cannot classify cannot be checked, so it denies.
deny contains {"code": "destination_kind_unknown", "message": sprintf("destination kind %q is not one of url, email, path, argv, recipient", [object.get(d, "kind", "")])} if {
	some d in destinations
	not object.get(d, "kind", "") in known_kinds
}

# A command-line argument that begins with '-' is read by the program as an
# option ("--output=/etc/cron.d/x", "-oProxyCommand=..."), not as the data the
# tool meant to pass: argument injection. The guard flags it (toolguard.ArgvArg).
deny contains {"code": "argument_injection", "message": "a command-line argument begins with '-' and would be read as an option"} if {
	some d in destinations
	object.get(d, "kind", "") == "argv"
	object.get(d, "flagged", false) != false
}

# An external effect sends data outside the trust domain; with no destination
# the policy cannot tell where, so it denies.
deny contains {"code": "external_without_destination", "message": "external tool call has no url, email or recipient destination"} if {
	tool_effect == "external"
	count(host_destinations) == 0
	count(recipient_destinations) == 0
}

# Time comes from input.time, never the clock, so decisions can be replayed.
# A missing or unparsable time denies (the comparison never succeeds).
deny contains {"code": "task_expired", "message": "the task has expired"} if {
	input.task.expires_at != null
	not task_live
}

task_live if time.parse_rfc3339_ns(input.time) < time.parse_rfc3339_ns(input.task.expires_at)
