# What the call may reach: the credential minted for it and the egress hosts.
package ztagent

credential := {
	"audience": credential_audience,
	"scopes": credential_scopes,
	"ttl_seconds": credential_ttl_seconds,
}

# The credential is for the first host the call reaches, else for the tool.
credential_audience := aud if {
	count(host_destinations) > 0
	aud := sprintf("https://%s", [lower(host_destinations[0].host)])
} else := sprintf("urn:ztagent:tool:%s", [tool_name])

credential_scopes := data.tools[tool_name].scopes if {
	data.tools[tool_name].scopes
} else := [sprintf("%s:%s", [tool_name, tool_effect])]

credential_ttl_seconds := data.credential_ttl_seconds if {
	data.credential_ttl_seconds
} else := 60

egress := {
	"hosts": sort([h | some h in egress_hosts]),
	"allow_private": egress_allow_private,
}

# allow_private holds for the whole call, not per host: the guard lets every
# granted name of the call resolve to a private address. So it is true only
# when every host the call reaches is listed as private for the agent; one
# other host, granted or not, and the allowance would reach it too.
default egress_allow_private := false

egress_allow_private if {
	count(host_destinations) > 0
	every d in host_destinations {
		lower(d.host) in private_hosts
	}
}

egress_hosts contains lower(d.host) if {
	some d in host_destinations
	host_allowed(d)
}
