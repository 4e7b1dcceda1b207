package authz_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ztagent/ztagent/authz"
)

// The embedded default policy with the quickstart grants: a granted email
// to an allowed host is allowed, needs approval because the tool is high
// risk, and gets a credential for that host only.
func Example() {
	ctx := context.Background()
	engine, err := authz.New(ctx,
		authz.WithTimeout(time.Second), // default 500ms; generous here so the example is stable on a loaded machine
		authz.WithDataJSON([]byte(`{
	  "agents": {
	    "spiffe://ztagent.dev/agent/quickstart": {
	      "tools": ["read_file", "send_email"],
	      "hosts": ["mail.example.com"]
	    }
	  },
	  "tools": {"send_email": {"scopes": ["email:send"]}}
	}`)))
	if err != nil {
		fmt.Println(err)
		return
	}

	in := &authz.Input{
		Subject: authz.Subject{SPIFFEID: "spiffe://ztagent.dev/agent/quickstart", TrustDomain: "ztagent.dev"},
		Tool:    authz.Tool{Name: "send_email", Effect: "external", Risk: "high"},
		Call: authz.Call{
			ID:           "call_7",
			Args:         []byte(`{"to":"bob@mail.example.com"}`),
			Destinations: []authz.Destination{{Kind: "email", Address: "bob@mail.example.com", Host: "mail.example.com"}},
		},
		Time: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC),
	}
	d, err := engine.Decide(ctx, in)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("allow:", d.Allow)
	fmt.Println("approval:", d.Approval.Required, d.Approval.Reason)
	fmt.Println("credential:", d.Credential.Audience, d.Credential.Scopes, d.Credential.TTLSeconds)
	fmt.Println("egress:", d.Egress.Hosts)

	// The same agent reaching a host it was not granted is denied.
	in.Call.Destinations[0].Host = "attacker.example"
	d, _ = engine.Decide(ctx, in)
	fmt.Println("allow:", d.Allow, d.Reasons[0].Code)

	// Output:
	// allow: true
	// approval: true high_risk_requires_approval
	// credential: https://mail.example.com [email:send] 60
	// egress: [mail.example.com]
	// allow: false destination_not_allowed
}

// A policy whose allow is not a literal boolean denies, with a stable code.
func ExampleEngine_Decide_failClosed() {
	ctx := context.Background()
	engine, err := authz.New(ctx,
		authz.WithModule("mine.rego", `package mine

decision := {"allow": "yes"}
`),
		authz.WithQuery("data.mine.decision"),
		authz.WithTimeout(time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	d, err := engine.Decide(ctx, &authz.Input{Tool: authz.Tool{Name: "read_file", Effect: "read"}})
	fmt.Println(d.Allow, d.Reasons[0].Code, authz.CodeOf(err))
	// Output:
	// false policy_allow_not_boolean policy_allow_not_boolean
}
