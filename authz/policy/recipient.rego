# Recipients that are not hosts: bank accounts, phone numbers, chat
# channels and users, account ids (toolguard.RecipientArg), and e-mail
# addresses granted whole rather than by domain.
package ztagent

recipient_destinations := [d | some d in destinations; d.kind == "recipient"]

# The kinds whose data entries are put in the guard's canonical form, so a
# deployer may write them as people do: "DE89 3704 0044 0532 0130 00",
# "+1 (555) 010-9999", "General", "Bob@Example.com".
canonical_kinds := {"iban", "phone", "chat_channel", "chat_user", "email"}

canonical_recipient(kind, x) := upper(replace(x, " ", "")) if kind == "iban"

canonical_recipient(kind, x) := regex.replace(x, `[ .()-]`, "") if kind == "phone"

canonical_recipient(kind, x) := concat("", ["#", lower(trim_prefix(x, "#"))]) if kind == "chat_channel"

canonical_recipient(kind, x) := concat("", ["@", lower(trim_prefix(x, "@"))]) if kind == "chat_user"

canonical_recipient(kind, x) := lower(x) if kind == "email"

canonical_recipient(kind, x) := x if not kind in canonical_kinds

# data.agents[id].recipients[kind]: the recipients of that kind the agent
# may reach.
allowed_recipients(kind) := {canonical_recipient(kind, x) |
	some x in object.get(agent, ["recipients", kind], [])
	is_string(x)
}

recipient_allowed(d) if d.address in allowed_recipients(d.type)

# An e-mail address granted whole: the domain need not be granted.
host_allowed(d) if {
	d.kind == "email"
	lower(d.address) in allowed_recipients("email")
}

deny contains {"code": "recipient_not_allowed", "message": recipient_denial(object.get(d, "type", ""))} if {
	some d in recipient_destinations
	not recipient_allowed(d)
}

# The value is not quoted: an account number is personal data.
recipient_denial(kind) := sprintf("%s recipient is not allowed: no grants for agent %q in data.agents", [kind, agent_id]) if {
	not agent_listed
} else := sprintf("%s recipient is not allowed for agent %q: it is not in data.agents[%q].recipients.%s", [kind, agent_id, agent_id, kind])
