package authz_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/types"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

// sleepBuiltin is a custom builtin that blocks until the evaluation is
// canceled (or, as a backstop, a long time has passed).
func sleepBuiltin() func(*rego.Rego) {
	return rego.Function1(
		&rego.Function{Name: "test.sleep", Decl: types.NewFunction(types.Args(types.N), types.B)},
		func(bctx rego.BuiltinContext, _ *ast.Term) (*ast.Term, error) {
			t := time.NewTimer(5 * time.Second)
			defer t.Stop()
			select {
			case <-bctx.Context.Done():
				return nil, bctx.Context.Err()
			case <-t.C:
				return ast.BooleanTerm(true), nil
			}
		},
	)
}

func TestDecideFailsClosed(t *testing.T) {
	t.Parallel()

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelExpired()

	tests := []struct {
		name   string
		policy string // module body after "package p"
		query  string // default data.p.decision
		opts   []authz.Option
		ctx    func(t *testing.T) context.Context
		input  func() *authz.Input
		code   string
	}{
		{name: "undefined result", policy: ``, code: authz.CodeUndefined},
		{name: "allow missing", policy: `decision := {"reasons": []}`, code: authz.CodeUndefined},
		{name: "allow is the string true", policy: `decision := {"allow": "true"}`, code: authz.CodeNotBoolean},
		{name: "allow is a number", policy: `decision := {"allow": 1}`, code: authz.CodeNotBoolean},
		{name: "allow is null", policy: `decision := {"allow": null}`, code: authz.CodeNotBoolean},
		{name: "allow is an object", policy: `decision := {"allow": {"true": true}}`, code: authz.CodeNotBoolean},
		{
			name:   "multiple results",
			policy: `decisions := [{"allow": true}, {"allow": true}]`,
			query:  `data.p.decisions[_]`,
			code:   authz.CodeMultipleResults,
		},
		{
			name:   "multiple results with a variable",
			policy: `decisions := [{"allow": true}, {"allow": true}]`,
			query:  `data.p.decisions[i]`,
			code:   authz.CodeMultipleResults,
		},
		{
			name:   "multiple expressions",
			policy: `decision := {"allow": true}`,
			query:  `data.p.decision; data.p.decision`,
			code:   authz.CodeMultipleResults,
		},
		{
			name:   "bindings",
			policy: `decision := {"allow": true}`,
			query:  `x := data.p.decision`,
			code:   authz.CodeBindings,
		},
		{
			name:   "strict builtin error",
			policy: `decision := {"allow": to_number(input.tool.name) > 0}`,
			code:   authz.CodeEvalError,
		},
		{
			name:   "conflicting complete rule",
			policy: "decision := {\"allow\": true} if input.tool.name\ndecision := {\"allow\": false} if input.tool.effect",
			code:   authz.CodeEvalError,
		},
		{
			name:   "custom builtin past the engine deadline",
			policy: `decision := {"allow": test.sleep(1)}`,
			opts:   []authz.Option{authz.WithTimeout(20 * time.Millisecond), authz.WithRegoOptions(sleepBuiltin())},
			code:   authz.CodeDeadline,
		},
		{
			name:   "custom builtin past the default deadline",
			policy: `decision := {"allow": test.sleep(1)}`,
			opts:   []authz.Option{authz.WithTimeout(authz.DefaultTimeout), authz.WithRegoOptions(sleepBuiltin())},
			code:   authz.CodeDeadline,
		},
		{
			name:   "custom builtin past the caller deadline",
			policy: `decision := {"allow": test.sleep(1)}`,
			opts:   []authz.Option{authz.WithTimeout(time.Minute), authz.WithRegoOptions(sleepBuiltin())},
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				t.Cleanup(cancel)
				return ctx
			},
			code: authz.CodeDeadline,
		},
		{
			name:   "caller cancels during evaluation",
			policy: `decision := {"allow": test.sleep(1)}`,
			opts:   []authz.Option{authz.WithTimeout(time.Minute), authz.WithRegoOptions(sleepBuiltin())},
			ctx: func(t *testing.T) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				stop := time.AfterFunc(20*time.Millisecond, cancel)
				t.Cleanup(func() { stop.Stop(); cancel() })
				return ctx
			},
			code: authz.CodeCanceled,
		},
		{
			name:   "context already canceled",
			policy: `decision := {"allow": true}`,
			ctx:    func(*testing.T) context.Context { return canceled },
			code:   authz.CodeCanceled,
		},
		{
			name:   "deadline already passed",
			policy: `decision := {"allow": true}`,
			ctx:    func(*testing.T) context.Context { return expired },
			code:   authz.CodeDeadline,
		},
		{
			name:   "nil input",
			policy: `decision := {"allow": true}`,
			input:  func() *authz.Input { return nil },
			code:   authz.CodeNilInput,
		},
		{
			name:   "args not JSON",
			policy: `decision := {"allow": true}`,
			input: func() *authz.Input {
				in := readInput()
				in.Call.Args = json.RawMessage(`{"secret": `)
				return in
			},
			code: authz.CodeBadInput,
		},
		{name: "decision not an object", policy: `decision := true`, code: authz.CodeBadDecision},
		{name: "reasons not an array", policy: `decision := {"allow": true, "reasons": "fine"}`, code: authz.CodeBadDecision},
		{name: "reasons not objects", policy: `decision := {"allow": false, "reasons": ["nope"]}`, code: authz.CodeBadDecision},
		{name: "reason code not a string", policy: `decision := {"allow": false, "reasons": [{"code": 7}]}`, code: authz.CodeBadDecision},
		{name: "reason without code", policy: `decision := {"allow": false, "reasons": [{"message": "no"}]}`, code: authz.CodeBadDecision},
		{name: "ttl_seconds a string", policy: `decision := {"allow": true, "credential": {"ttl_seconds": "60"}}`, code: authz.CodeBadDecision},
		{name: "ttl_seconds fractional", policy: `decision := {"allow": true, "credential": {"ttl_seconds": 1.5}}`, code: authz.CodeBadDecision},
		{name: "ttl_seconds negative", policy: `decision := {"allow": true, "credential": {"ttl_seconds": -1}}`, code: authz.CodeBadDecision},
		{name: "approval required not a boolean", policy: `decision := {"allow": true, "approval": {"required": "yes"}}`, code: authz.CodeBadDecision},
		{name: "egress hosts not strings", policy: `decision := {"allow": true, "egress": {"hosts": [1]}}`, code: authz.CodeBadDecision},
		{name: "scopes an object", policy: `decision := {"allow": true, "credential": {"scopes": {"a": 1}}}`, code: authz.CodeBadDecision},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			query := tc.query
			if query == "" {
				query = "data.p.decision"
			}
			opts := append([]authz.Option{
				authz.WithModule("p.rego", "package p\n\n"+tc.policy+"\n"),
				authz.WithQuery(query),
				authz.WithTimeout(testTimeout),
			}, tc.opts...)
			e, err := authz.New(context.Background(), opts...)
			require.NoError(t, err)

			ctx := context.Background()
			if tc.ctx != nil {
				ctx = tc.ctx(t)
			}
			in := readInput()
			if tc.input != nil {
				in = tc.input()
			}

			start := time.Now()
			d, err := e.Decide(ctx, in)
			require.Less(t, time.Since(start), 2*time.Second, "decision must not outlive its deadline")
			t.Logf("error: %v", err)

			var aerr *authz.Error
			require.ErrorAs(t, err, &aerr)
			require.Equal(t, tc.code, aerr.Code)
			require.Equal(t, tc.code, authz.CodeOf(err))
			require.ErrorContains(t, err, "authz: "+tc.code)

			require.False(t, d.Allow)
			require.Len(t, d.Reasons, 1)
			require.Equal(t, tc.code, d.Reasons[0].Code)
			require.NotEmpty(t, d.Reasons[0].Message)
			require.Equal(t, query, d.PolicyID)
			require.Equal(t, e.Revision(), d.Revision)
			require.False(t, d.Approval.Required)
			require.Empty(t, d.Egress.Hosts)
			require.Empty(t, d.Credential.Audience)
		})
	}
}

func TestDecideContextErrorsUnwrap(t *testing.T) {
	t.Parallel()
	e, err := authz.New(context.Background(), authz.WithModule("p.rego", "package p\ndecision := {\"allow\": true}\n"), authz.WithQuery("data.p.decision"), authz.WithTimeout(testTimeout))
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = e.Decide(ctx, readInput())
	require.ErrorIs(t, err, context.Canceled)

	ctx, cancel = context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = e.Decide(ctx, readInput())
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestDecideErrorHidesArgs(t *testing.T) {
	t.Parallel()
	e, err := authz.New(context.Background(), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	in := readInput()
	in.Call.Args = json.RawMessage(`{"token": "s3cr3t-value`)
	d, err := e.Decide(context.Background(), in)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cr3t")
	require.NotContains(t, d.Reasons[0].Message, "s3cr3t")
}

func TestZeroEngineDenies(t *testing.T) {
	t.Parallel()
	for name, e := range map[string]*authz.Engine{"nil": nil, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			d, err := e.Decide(context.Background(), readInput())
			require.Equal(t, authz.CodeNotReady, authz.CodeOf(err))
			require.False(t, d.Allow)
			require.Equal(t, authz.CodeNotReady, d.Reasons[0].Code)
			require.Empty(t, e.Revision())
		})
	}
}

func TestDenyWithoutReasonGetsOne(t *testing.T) {
	t.Parallel()
	e, err := authz.New(context.Background(), authz.WithModule("p.rego", "package p\ndecision := {\"allow\": false}\n"), authz.WithQuery("data.p.decision"), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	d, err := e.Decide(context.Background(), readInput())
	require.NoError(t, err)
	require.False(t, d.Allow)
	require.Equal(t, []authz.Reason{{Code: authz.CodeDenied, Message: "policy denied without a reason"}}, d.Reasons)
}

func TestOnlyLiteralTrueAllows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		allow string
		want  bool
	}{
		{name: "true", allow: "true", want: true},
		{name: "false", allow: "false", want: false},
		{name: "input dependent true", allow: `input.tool.name == "read_file"`, want: true},
		{name: "input dependent false", allow: `input.tool.name == "other"`, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := "package p\ndecision := {\"allow\": " + tc.allow + ", \"reasons\": [{\"code\": \"x\", \"message\": \"m\"}]}\n"
			e, err := authz.New(context.Background(), authz.WithModule("p.rego", src), authz.WithQuery("data.p.decision"), authz.WithTimeout(testTimeout))
			require.NoError(t, err)
			d, err := e.Decide(context.Background(), readInput())
			require.NoError(t, err)
			require.Equal(t, tc.want, d.Allow)
		})
	}
}

// Error renders with and without a cause and unwraps to it.
func TestErrorFormatting(t *testing.T) {
	t.Parallel()
	require.Equal(t, "authz: policy_undefined", (&authz.Error{Code: authz.CodeUndefined}).Error())
	cause := errors.New("boom")
	err := &authz.Error{Code: authz.CodeEvalError, Err: cause}
	require.Equal(t, "authz: policy_eval_error: boom", err.Error())
	require.ErrorIs(t, err, cause)
	require.Empty(t, authz.CodeOf(cause))
}
