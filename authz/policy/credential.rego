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

egress := {"hosts": sort([h | some h in egress_hosts])}

egress_hosts contains lower(d.host) if {
	some d in host_destinations
	host_allowed(d)
}
