# Intent-aware rules: where the values of a call came from
# (toolguard.Provenance). When a conversation keeps track, a call is judged
# by the origin of what it acts on rather than by its effect alone: an agent
# acts without a human on its user's values, even in a conversation that
# read untrusted content, while a destination or argument first seen in
# content anyone can write cannot steer a write, a payment or a message.
# Without tracking, the effect-based rules of approval.rego apply.
package ztagent

tracks_provenance if input.context.tracks_provenance == true

provenance_overflow if input.context.provenance_overflow == true

# Destinations whose origin is judged: those that name a party.
judged_kinds := {"url", "email", "recipient"}

judged_destinations := [sprintf("call.destinations.%d", [i]) | some i, d in destinations; d.kind in judged_kinds]

# A value seen in untrusted content and never in a trusted source.
untrusted_only(path) if {
	o := input.provenance[path]
	o.untrusted == true
	not o.trusted == true
}

trusted_value(path) if input.provenance[path].trusted == true

untrusted_destinations := [p | some p in judged_destinations; untrusted_only(p)]

untrusted_arguments := sort([p | some p, _ in input.provenance; startswith(p, "call.args."); untrusted_only(p)])

# Neither trusted nor untrusted: the conversation never saw it (the model
# made it up, or rewrote it beyond recognition).
unverified_destinations := [p | some p in judged_destinations; not trusted_value(p); not untrusted_only(p)]

sources_of(paths) := concat(", ", sort({s | some p in paths; some s in input.provenance[p].sources}))

# data.provenance.untrusted_external: "deny" (the default) or "approval".
default untrusted_external := "deny"

untrusted_external := data.provenance.untrusted_external

# An external call to a party first seen in untrusted content sends data
# where an outsider pointed: denied unless the deployer asks for approval.
deny contains {"code": "untrusted_destination", "message": sprintf("a destination of this %s call came from untrusted content (%s) and not from a trusted source", [tool_effect, sources_of(untrusted_destinations)])} if {
	tracks_provenance
	tool_effect == "external"
	count(untrusted_destinations) > 0
	untrusted_external != "approval"
}

approval_reasons contains {"code": "untrusted_destination_requires_approval", "message": sprintf("a destination came from untrusted content (%s) and not from a trusted source", [sources_of(untrusted_destinations)])} if {
	tracks_provenance
	tool_effect != "read"
	count(untrusted_destinations) > 0
	tool_approval != "never"
}

approval_reasons contains {"code": "untrusted_argument_requires_approval", "message": sprintf("arguments %s came from untrusted content (%s) and not from a trusted source", [concat(", ", untrusted_arguments), sources_of(untrusted_arguments)])} if {
	tracks_provenance
	tool_effect != "read"
	count(untrusted_arguments) > 0
	tool_approval != "never"
}

# In a conversation that read untrusted content, a destination no source
# vouches for may be the model's rewording of an outsider's.
approval_reasons contains {"code": "unverified_destination_requires_approval", "message": "a destination was never seen in a trusted source, and the conversation read untrusted content"} if {
	tracks_provenance
	tainted
	tool_effect != "read"
	count(unverified_destinations) > 0
	tool_approval != "never"
}

approval_reasons contains {"code": "provenance_overflow_requires_approval", "message": "the conversation's provenance stopped keeping track, so any value may have come from untrusted content"} if {
	tracks_provenance
	provenance_overflow
	tool_effect != "read"
	tool_approval != "never"
}
