package authz_test

import (
	"encoding/json"
	"time"

	"github.com/ztagent/ztagent/authz"
)

// testTimeout replaces the 500ms default where the deadline is not what a
// test is about: under -race on a loaded machine one decision can take longer.
const testTimeout = 30 * time.Second

const quickstartAgent = "spiffe://ztagent.dev/agent/quickstart"

// quickstartData is the data document of the embedded-default demo.
const quickstartData = `{
  "agents": {
    "spiffe://ztagent.dev/agent/quickstart": {
      "tools": ["read_file", "fetch_url", "send_email", "delete_record"],
      "hosts": ["docs.example.com", "mail.example.com"]
    }
  },
  "tools": { "send_email": {"scopes": ["email:send"]}, "fetch_url": {"scopes": ["web:fetch"]} },
  "credential_ttl_seconds": 60
}`

var decisionTime = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// readInput is a granted, low-risk read with no destination.
func readInput() *authz.Input {
	return &authz.Input{
		Subject:   authz.Subject{SPIFFEID: quickstartAgent, TrustDomain: "ztagent.dev"},
		Principal: authz.Principal{User: "alice@example.com", Chain: []string{"user:alice@example.com", quickstartAgent}},
		Task:      authz.Task{ID: "t-1", Purpose: "answer questions", Scopes: []string{"docs:read"}},
		Tool:      authz.Tool{Name: "read_file", Effect: "read", Risk: "low"},
		Call: authz.Call{
			ID:         "call_1",
			Args:       json.RawMessage(`{"path":"/srv/docs/a.txt"}`),
			ArgsDigest: "sha256:00",
			Destinations: []authz.Destination{
				{Kind: "path", Path: "/srv/docs/a.txt"},
			},
		},
		Context: authz.Context{ConversationID: "c-1"},
		Time:    decisionTime,
	}
}
