package ztagent_test

import data.ztagent

prov_agents := {agent_id: {
	"tools": ["send_money", "send_email", "post_message", "delete_file", "read_file"],
	"hosts": ["example.com", "docs.example.com"],
	"recipients": {"iban": ["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32"]},
}}

# tracked(patch) is an input of a conversation that keeps provenance.
tracked(patch) := object.union(with_input({"context": {"tracks_provenance": true}}), patch)

decide_prov(inp) := d if {
	d := ztagent.decision with input as inp with data.agents as prov_agents
}

pay_to(iban, origin) := tracked({
	"tool": {"name": "send_money", "effect": "external", "risk": "high"},
	"call": {"args": {"to": iban}, "destinations": [recipient("iban", iban)]},
	"provenance": {"call.destinations.0": origin, "call.args.to": origin},
	"context": {"taint": ["untrusted:email"], "tracks_provenance": true},
})

trusted := {"trusted": true, "untrusted": false}

untrusted := {"trusted": false, "untrusted": true, "sources": ["untrusted:email@call_2"]}

both := {"trusted": true, "untrusted": true, "sources": ["untrusted:email@call_2"]}

# With provenance, a high-risk external payment to the payee the user
# named runs without a human, though the conversation read an e-mail.
test_trusted_destination_needs_no_approval if {
	d := decide_prov(pay_to("DE89370400440532013000", trusted))
	d.allow == true
	d.approval == {"required": false}
	codes(d) == {"allowed"}
}

# A payee first seen in the e-mail is refused outright for an external call.
test_untrusted_destination_denied_for_external if {
	d := decide_prov(pay_to("GB82WEST12345698765432", untrusted))
	d.allow == false
	codes(d) == {"untrusted_destination"}
	d.reasons[0].message == "a destination of this external call came from untrusted content (untrusted:email@call_2) and not from a trusted source"
}

test_untrusted_external_may_ask_instead if {
	d := ztagent.decision with input as pay_to("GB82WEST12345698765432", untrusted)
		with data.agents as prov_agents
		with data.provenance as {"untrusted_external": "approval"}
	d.allow == true
	"untrusted_destination_requires_approval" in codes(d)
}

# Seen in the e-mail and also given by the user: the user's.
test_value_trusted_and_untrusted_is_trusted if {
	d := decide_prov(pay_to("DE89370400440532013000", both))
	d.allow == true
	d.approval.required == false
}

test_untrusted_destination_of_a_write_requires_approval if {
	d := decide_prov(tracked({
		"tool": {"name": "send_email", "effect": "write"},
		"call": {"destinations": [email("eve@example.com", "example.com")]},
		"provenance": {"call.destinations.0": untrusted},
	}))
	d.allow == true
	d.approval == {"required": true, "reason": "untrusted_destination_requires_approval"}
}

# Attacker-written content to a trusted recipient: the recipient passes,
# the body does not.
test_untrusted_argument_requires_approval if {
	d := decide_prov(tracked({
		"tool": {"name": "post_message", "effect": "write"},
		"call": {"args": {"text": "x"}, "destinations": [url("example.com")]},
		"provenance": {"call.destinations.0": trusted, "call.args.text": untrusted},
	}))
	d.allow == true
	d.approval.reason == "untrusted_argument_requires_approval"
	d.reasons[0].message == "arguments call.args.text came from untrusted content (untrusted:email@call_2) and not from a trusted source"
}

# A destination no source vouches for, in a conversation that read
# untrusted content.
test_unverified_destination_in_tainted_context_requires_approval if {
	d := decide_prov(tracked({
		"tool": {"name": "send_email", "effect": "write"},
		"call": {"destinations": [email("carol@example.com", "example.com")]},
		"context": {"taint": ["untrusted:web"], "tracks_provenance": true},
	}))
	d.approval == {"required": true, "reason": "unverified_destination_requires_approval"}
}

test_unverified_destination_in_clean_context_runs if {
	d := decide_prov(tracked({
		"tool": {"name": "send_email", "effect": "write"},
		"call": {"destinations": [email("carol@example.com", "example.com")]},
	}))
	d.allow == true
	d.approval.required == false
}

# With provenance, writes and deletes of the user's own values run without
# a human: the effect-based rules give way.
test_tracked_write_of_trusted_values_needs_no_approval if {
	d := decide_prov(tracked({
		"tool": {"name": "delete_file", "effect": "destructive", "risk": "high"},
		"call": {"args": {"id": "f-1"}},
		"provenance": {"call.args.id": trusted},
		"context": {"taint": ["untrusted:web"], "tracks_provenance": true},
	}))
	d.allow == true
	d.approval.required == false
}

test_provenance_overflow_requires_approval if {
	d := decide_prov(tracked({
		"tool": {"name": "send_email", "effect": "write"},
		"context": {"taint": [], "tracks_provenance": true, "provenance_overflow": true},
	}))
	d.approval == {"required": true, "reason": "provenance_overflow_requires_approval"}
}

test_reads_are_not_judged_by_provenance if {
	d := decide_prov(tracked({
		"tool": {"name": "read_file", "effect": "read"},
		"call": {"args": {"path": "x"}},
		"provenance": {"call.args.path": untrusted},
		"context": {"taint": ["untrusted:web"], "tracks_provenance": true, "provenance_overflow": true},
	}))
	d.allow == true
	d.approval.required == false
}

# Without tracking, the effect-based rules stand and provenance fields are
# not read.
test_untracked_conversation_keeps_effect_rules if {
	d := decide_prov(with_input({
		"tool": {"name": "send_email", "effect": "write"},
		"call": {"destinations": [email("bob@example.com", "example.com")]},
		"provenance": {"call.destinations.0": untrusted},
	}))
	d.approval == {"required": true, "reason": "write_requires_approval"}
}

# "never" lifts provenance approvals too; the external denial stands.
test_tool_setting_never_with_provenance if {
	d := ztagent.decision with input as tracked({
		"tool": {"name": "send_email", "effect": "write"},
		"call": {"destinations": [email("eve@example.com", "example.com")]},
		"provenance": {"call.destinations.0": untrusted},
	})
		with data.agents as prov_agents
		with data.tools as {"send_email": {"approval": "never"}}
	d.approval.required == false
	e := ztagent.decision with input as pay_to("GB82WEST12345698765432", untrusted)
		with data.agents as prov_agents
		with data.tools as {"send_money": {"approval": "never"}}
	codes(e) == {"untrusted_destination"}
}
