package toolguard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard"
)

// An approver gets the arguments to look at, not to change: one that edits
// ApprovalRequest.Args in place and then replaces them changes nothing the
// policy, the tool or the record sees, on this call or on a later call with
// the same arguments (the guard remembers frozen arguments across calls).
func TestApproverEditingArgsChangesNothing(t *testing.T) {
	const want = `{"url":"https://docs.example.com/a"}`
	cases := []struct {
		name string
		// wrap guards a tool that reports the URL it received.
		wrap func(t *testing.T, g *toolguard.Guard, got *string) func(context.Context) error
	}{
		{name: "WrapJSON", wrap: func(t *testing.T, g *toolguard.Guard, got *string) func(context.Context) error {
			fn, err := toolguard.WrapJSON(g, fetchTool, func(_ context.Context, a json.RawMessage) (json.RawMessage, error) {
				*got = string(a)
				return nil, nil
			})
			require.NoError(t, err)
			return func(ctx context.Context) error {
				_, err := fn(ctx, json.RawMessage(want))
				return err
			}
		}},
		{name: "Wrap", wrap: func(t *testing.T, g *toolguard.Guard, got *string) func(context.Context) error {
			fn := wrap(t, g, fetchTool, func(_ context.Context, a DocArgs) (string, error) {
				b, err := json.Marshal(a)
				*got = string(b)
				return "", err
			})
			return func(ctx context.Context) error {
				_, err := fn(ctx, DocArgs{URL: "https://docs.example.com/a"})
				return err
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var policySaw, approverSaw []string
			dec := deciderFunc(func(ctx context.Context, in *authz.Input) (authz.Decision, error) {
				policySaw = append(policySaw, string(in.Call.Args))
				return allowAll(true)(ctx, in)
			})
			editor := toolguard.ApproverFunc(func(_ context.Context, req toolguard.ApprovalRequest) (toolguard.Approval, error) {
				approverSaw = append(approverSaw, string(req.Args))
				// Same length, so the edited bytes are still valid JSON.
				if i := bytes.Index(req.Args, []byte("docs.example.com")); i >= 0 {
					copy(req.Args[i:], "evil.example.com")
				}
				req.Args = json.RawMessage(`{"url":"https://evil.example/"}`)
				return toolguard.Approval{Approved: true, By: "editor"}, nil
			})
			f := newFixture(t, toolguard.WithDecider(dec), toolguard.WithApprover(editor), toolguard.WithArgsDigestKey(testDigestKey))
			var got string
			call := tc.wrap(t, f.guard, &got)
			for i := range 2 {
				got = ""
				require.NoError(t, call(context.Background()), "call %d", i+1)
				require.JSONEq(t, want, got, "call %d: the tool's arguments", i+1)
				require.JSONEq(t, want, policySaw[i], "call %d: the policy's arguments", i+1)
				require.JSONEq(t, want, approverSaw[i], "call %d: the approver's arguments", i+1)
				rec := f.sink.last(t)
				require.Equal(t, "approved", rec.Approval)
				require.Equal(t, argsDigestOf([]byte(want)), rec.ArgsDigest, "call %d: the record's digest", i+1)
			}
		})
	}
}
