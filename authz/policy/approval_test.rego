package ztagent_test

test_write_requires_approval if {
	d := decide(with_input({"tool": {"name": "send_email", "effect": "write"}}))
	d.allow == true
	d.approval == {"required": true, "reason": "write_requires_approval"}
	codes(d) == {"write_requires_approval"}
}

test_destructive_requires_approval if {
	d := decide(with_input({"tool": {"name": "delete_record", "effect": "destructive"}}))
	d.approval.required == true
	codes(d) == {"write_requires_approval"}
}

test_high_risk_requires_approval if {
	d := decide(with_input({"tool": {"risk": "high"}}))
	d.allow == true
	d.approval == {"required": true, "reason": "high_risk_requires_approval"}
}

test_tainted_context_requires_approval if {
	d := decide(with_input({
		"tool": {"name": "fetch_url", "effect": "external"},
		"call": {"destinations": [url("docs.example.com")]},
		"context": {"taint": ["untrusted:web"]},
	}))
	d.allow == true
	d.approval == {"required": true, "reason": "tainted_context_requires_approval"}
}

test_tainted_read_needs_no_approval if {
	d := decide(with_input({"context": {"taint": ["untrusted:web"]}}))
	d.allow == true
	d.approval == {"required": false}
}

test_approval_reasons_combine if {
	d := decide(with_input({
		"tool": {"name": "delete_record", "effect": "destructive", "risk": "high"},
		"context": {"taint": ["untrusted:email"]},
	}))
	d.allow == true
	d.approval.reason == "write_requires_approval, high_risk_requires_approval, tainted_context_requires_approval"
	codes(d) == {"high_risk_requires_approval", "tainted_context_requires_approval", "write_requires_approval"}
}

test_denied_call_reports_deny_reasons_not_approvals if {
	d := decide(with_input({"tool": {"name": "drop_database", "effect": "destructive"}}))
	d.allow == false
	codes(d) == {"tool_not_granted"}
}
