# Facts about the call that the rules share: which agent asks, what it was
# granted, and which destinations have a host to check.
package ztagent

# The agent's grants from data.agents, keyed by SPIFFE ID. An unknown agent
# has no grants at all, so every rule that needs a grant denies.
default agent := {}

agent := data.agents[input.subject.spiffe_id]

# The SPIFFE ID the grants were looked up under, as denials name it.
agent_id := object.get(input, ["subject", "spiffe_id"], "")

# The agent has an entry in data.agents. A denial tells an agent with no
# entry (often grants written for another identity than the one the agent
# runs as) from one whose entry lacks the tool or host.
agent_listed if data.agents[agent_id]

tool_name := object.get(input, ["tool", "name"], "")

tool_effect := object.get(input, ["tool", "effect"], "")

tool_risk := object.get(input, ["tool", "risk"], "")

known_effects := {"read", "write", "destructive", "external"}

# Destination kinds whose host names a remote party; "path" is local and is
# confined by the guard's root instead.
host_kinds := {"url", "email"}

# "argv": command-line arguments a tool passes to a program (argument_injection);
# "recipient": a bank account, phone number, chat channel or user, account id.
known_kinds := host_kinds | {"path", "argv", "recipient"}

destinations := ds if {
	ds := input.call.destinations
	is_array(ds)
} else := []

# In the order the guard derived them: the first one names the credential's audience.
host_destinations := [d | some d in destinations; d.kind in host_kinds]

allowed_hosts := {lower(h) | some h in object.get(agent, "hosts", [])}

host_allowed(d) if lower(d.host) in allowed_hosts

# Hosts the agent's data lists as private (test servers, internal APIs):
# their names may resolve to loopback or private addresses. A listed name
# only qualifies a grant, it is not one: a name missing from hosts is
# granted nothing.
listed_private_hosts := {lower(h) | some h in object.get(agent, "private_hosts", [])}

private_hosts := listed_private_hosts & allowed_hosts

tool_granted if tool_name in object.get(agent, "tools", [])

tainted if count(input.context.taint) > 0

# A peer (another process asking over a protocol, such as an MCP client)
# may claim its conversation read untrusted content. Nobody verified the
# claim, and it is honoured because it can only make a decision stricter.
tainted if count(object.get(input, ["peer", "taint"], [])) > 0
