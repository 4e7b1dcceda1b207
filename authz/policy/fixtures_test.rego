# Shared fixtures for the default policy's unit tests.
package ztagent_test

import data.ztagent

agent_id := "spiffe://ztagent.dev/agent/quickstart"

agents := {agent_id: {
	"tools": ["read_file", "fetch_url", "send_email", "delete_record", "upload_report"],
	"hosts": ["docs.example.com", "Mail.Example.com"],
}}

tools := {
	"send_email": {"scopes": ["email:send"]},
	"fetch_url": {"scopes": ["web:fetch"]},
}

base_input := {
	"subject": {"spiffe_id": agent_id, "trust_domain": "ztagent.dev"},
	"principal": {"user": "alice@example.com", "chain": ["user:alice@example.com", agent_id]},
	"task": {"id": "t-1", "purpose": "answer questions", "scopes": [], "calls_used": 0},
	"tool": {"name": "read_file", "effect": "read", "risk": "low"},
	"call": {"id": "call_1", "args": {}, "args_digest": "sha256:00", "destinations": []},
	"context": {"conversation_id": "c-1", "taint": []},
	"time": "2026-11-30T12:00:00Z",
}

# with_input deep-merges patch into the base input (arrays are replaced).
with_input(patch) := object.union(base_input, patch)

decide(inp) := d if {
	d := ztagent.decision with input as inp
		with data.agents as agents
		with data.tools as tools
		with data.credential_ttl_seconds as 60
}

codes(d) := {r.code | some r in d.reasons}

url(host) := {"kind": "url", "scheme": "https", "host": host, "port": 443}

email(address, domain) := {"kind": "email", "address": address, "host": domain}

recipient(kind, address) := {"kind": "recipient", "type": kind, "address": address}
