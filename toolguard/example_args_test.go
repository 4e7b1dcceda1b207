package toolguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/toolguard"
	"github.com/ztagent/ztagent/toolguard/egress"
)

// exampleGuard grants fetch and send_email to the agent, with example.com
// and docs.example.com, approves every call, and records nothing.
func exampleGuard(ctx context.Context) (*toolguard.Guard, func()) {
	id, _ := identity.NewDevSource(ctx, identity.WithWorkloadPath("/agent/support"))
	g, err := toolguard.New(ctx,
		toolguard.WithIdentity(id),
		toolguard.WithPolicyData([]byte(`{"agents": {"spiffe://ztagent.dev/agent/support":
			{"tools": ["fetch", "send_email"], "hosts": ["example.com", "docs.example.com"]}}}`)),
		toolguard.WithApprover(toolguard.ApproverFunc(func(context.Context, toolguard.ApprovalRequest) (toolguard.Approval, error) {
			return toolguard.Approval{Approved: true, By: "oncall"}, nil
		})),
		toolguard.WithSink(audit.SinkFunc(func(context.Context, *audit.Record) error { return nil })),
	)
	if err != nil {
		panic(err)
	}
	return g, func() { _ = g.Close(ctx); _ = id.Close() }
}

// A JSON tool with the input schema its MCP server declares: the guard
// validates the arguments against it and refuses keys the tool's JSON
// decoder would read as a field other than the one the guard judged.
func ExampleWrapJSON() {
	ctx := context.Background()
	g, done := exampleGuard(ctx)
	defer done()

	send, err := toolguard.WrapJSON(g, toolguard.Tool{
		Name: "send_email", Effect: toolguard.Write,
		Destinations: []toolguard.Dest{toolguard.EmailArg("to"), toolguard.EmailArg("cc").Optional()},
		InputSchema: json.RawMessage(`{"type": "object", "required": ["to"],
			"properties": {"to": {"type": "string"}, "cc": {"type": "array", "items": {"type": "string"}}, "body": {"type": "string"}}}`),
	}, func(_ context.Context, args json.RawMessage) (json.RawMessage, error) {
		var a struct{ To, Body string }
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		return json.Marshal("sent to " + a.To)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, args := range []string{
		`{"to": "bob@example.com", "body": "hi"}`,
		`{"to": "bob@example.com", "TO": "eve@evil.example"}`, // encoding/json would fill To with the second
		`{"body": "hi"}`,
	} {
		out, err := send(ctx, json.RawMessage(args))
		var denied *toolguard.DeniedError
		if errors.As(err, &denied) {
			fmt.Printf("denied (%s): %s\n", denied.Code, denied.Reason)
			continue
		}
		fmt.Println(string(out))
	}
	// Output:
	// "sent to bob@example.com"
	// denied (bad_args): argument key "TO" is read as "to" by a JSON decoder that folds case; spell it exactly
	// denied (bad_args): arguments do not match the tool's input schema at root (required)
}

// A tool that always calls one API declares it: the policy judges the
// destination like one found in the arguments, and the egress grant
// covers it. A path that the argument type does not have is an error when
// the tool is wrapped, not a destination silently never found.
func ExampleFixedURL() {
	ctx := context.Background()
	g, done := exampleGuard(ctx)
	defer done()

	type forecastArgs struct {
		City string `json:"city"`
	}
	forecast := func(ctx context.Context, a forecastArgs) (string, error) {
		hosts, _ := egress.AllowedHosts(ctx)
		return fmt.Sprintf("forecast for %s from %v", a.City, hosts), nil
	}
	fetch, err := toolguard.Wrap(g, toolguard.Tool{
		Name: "fetch", Effect: toolguard.Read,
		Destinations: []toolguard.Dest{toolguard.FixedURL("https://docs.example.com/v1/forecast")},
	}, forecast)
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := fetch(ctx, forecastArgs{City: "Oslo"})
	fmt.Println(out, err)

	_, err = toolguard.Wrap(g, toolguard.Tool{
		Name: "fetch", Effect: toolguard.Read,
		Destinations: []toolguard.Dest{toolguard.URLArg("url")},
	}, forecast)
	fmt.Println(err)
	// Output:
	// forecast for Oslo from [docs.example.com] <nil>
	// toolguard: tool fetch: destination 0 (url): the arguments: no field "url" (there are: city)
}
