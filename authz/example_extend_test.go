package authz_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ztagent/ztagent/authz"
)

// Extending the default library: load it next to your own rules in package
// ztagent. Here destructive calls are refused on weekends.
func ExampleDefaultPolicy_extend() {
	ctx := context.Background()
	grants := []byte(`{"agents": {"spiffe://example.org/agent/ops": {"tools": ["drop_table"], "hosts": []}}}`)
	opts := []authz.Option{authz.WithDataJSON(grants), authz.WithTimeout(5 * time.Second)}
	for name, src := range authz.DefaultPolicy() {
		opts = append(opts, authz.WithModule(name, src))
	}
	opts = append(opts, authz.WithModule("extra.rego", `package ztagent
deny contains {"code": "no_weekend_deletes", "message": "not on weekends"} if {
	input.tool.effect == "destructive"
	time.weekday(time.parse_rfc3339_ns(input.time)) in {"Saturday", "Sunday"}
}`))
	eng, err := authz.New(ctx, opts...)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, day := range []time.Time{
		time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), // a Monday
		time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), // a Sunday
	} {
		d, _ := eng.Decide(ctx, &authz.Input{
			Subject: authz.Subject{SPIFFEID: "spiffe://example.org/agent/ops", TrustDomain: "example.org"},
			Tool:    authz.Tool{Name: "drop_table", Effect: "destructive", Risk: "high"},
			Time:    day,
		})
		fmt.Println(day.Weekday(), d.Allow, d.Reasons[0].Code)
	}
	// Output:
	// Monday true write_requires_approval
	// Sunday false no_weekend_deletes
}
