package ztagent_test

import data.ztagent

payer_agents := {agent_id: {
	"tools": ["send_money", "post_message", "send_email"],
	"hosts": ["bank.example"],
	"recipients": {
		"iban": ["DE89 3704 0044 0532 0130 00"],
		"phone": ["+1 (555) 010-9999"],
		"chat_channel": ["General"],
		"chat_user": ["@Bob"],
		"account": ["acct-17"],
		"email": ["Bob@Gmail.example"],
	},
}}

pay(dests) := d if {
	d := ztagent.decision with input as with_input({
		"tool": {"name": "send_money", "effect": "external", "risk": "high"},
		"call": {"destinations": dests},
	})
		with data.agents as payer_agents
}

test_listed_recipients_allowed if {
	every dest in [
		recipient("iban", "DE89370400440532013000"),
		recipient("phone", "+15550109999"),
		recipient("chat_channel", "#general"),
		recipient("chat_user", "@bob"),
		recipient("account", "acct-17"),
	] {
		d := pay([dest])
		not "recipient_not_allowed" in codes(d)
		not "external_without_destination" in codes(d)
	}
}

test_unlisted_recipient_denied if {
	d := pay([recipient("iban", "GB82WEST12345698765432")])
	d.allow == false
	d.reasons[0].code == "recipient_not_allowed"
	d.reasons[0].message == `iban recipient is not allowed for agent "spiffe://ztagent.dev/agent/quickstart": it is not in data.agents["spiffe://ztagent.dev/agent/quickstart"].recipients.iban`
}

# Kinds are apart: an account id listed under one kind is not another's.
test_recipient_kind_matters if {
	d := pay([recipient("chat_user", "acct-17")])
	"recipient_not_allowed" in codes(d)
}

# Kinds without a standard form compare as written.
test_generic_recipient_exact if {
	d := pay([recipient("account", "ACCT-17")])
	"recipient_not_allowed" in codes(d)
}

test_recipient_for_unknown_agent if {
	d := ztagent.decision with input as with_input({
		"subject": {"spiffe_id": "spiffe://ztagent.dev/agent/other"},
		"call": {"destinations": [recipient("iban", "DE89370400440532013000")]},
	})
		with data.agents as payer_agents
	d.allow == false
	some r in d.reasons
	r.message == `iban recipient is not allowed: no grants for agent "spiffe://ztagent.dev/agent/other" in data.agents`
}

# An e-mail address may be granted whole, its domain not.
test_email_address_granted_whole if {
	d := ztagent.decision with input as with_input({
		"tool": {"name": "send_email", "effect": "write"},
		"call": {"destinations": [email("bob@gmail.example", "gmail.example")]},
	})
		with data.agents as payer_agents
	not "destination_not_allowed" in codes(d)
	d2 := ztagent.decision with input as with_input({
		"tool": {"name": "send_email", "effect": "write"},
		"call": {"destinations": [email("eve@gmail.example", "gmail.example")]},
	})
		with data.agents as payer_agents
	"destination_not_allowed" in codes(d2)
}

test_recipient_is_a_known_kind if {
	d := pay([recipient("iban", "DE89370400440532013000")])
	not "destination_kind_unknown" in codes(d)
}
