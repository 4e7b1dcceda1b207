package toolguard_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/toolguard"
)

var fetchTool = toolguard.Tool{Name: "fetch", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.URLArg("url")}}

func TestAllowedCallRunsWithScopedCredentialThenRevokes(t *testing.T) {
	f := newFixture(t)
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)

	ctx, turn := audit.NewTracer(f.tp).StartTurn(context.Background(), audit.Turn{ConversationID: "c-1", Model: "m", Prompt: "hi"})
	turn.Proposed("call_7", "fetch")
	turn.End()
	out, err := fetch(toolguard.WithCall(ctx, "call_7"), DocArgs{URL: "https://Docs.Example.com./a/../b"})
	require.NoError(t, err)
	require.Equal(t, "done", out)
	require.EqualValues(t, 1, p.ran.Load())

	// The tool got a credential for exactly its destination, which died with the call.
	require.NotNil(t, p.cred)
	require.Equal(t, "https://docs.example.com", p.cred.Audience)
	require.Equal(t, agentID, p.cred.Subject)
	require.Equal(t, 30*time.Second, p.cred.TTL())
	_, err = f.minter.Verifier(creds.WithClock(f.now.Now)).Verify(context.Background(), p.cred.Token(), p.cred.Audience)
	require.ErrorIs(t, err, creds.ErrRevoked)
	require.True(t, p.granted)
	require.Equal(t, []string{"docs.example.com"}, p.hosts)

	rec := f.sink.last(t)
	require.True(t, rec.Allow)
	require.Equal(t, "ok", rec.Outcome)
	require.Equal(t, "call_7", rec.CallID)
	require.Equal(t, agentID, rec.Subject)
	require.Equal(t, p.cred.ID, rec.CredentialID)
	require.Equal(t, []string{"https://docs.example.com:443"}, rec.Destinations)
	require.Equal(t, turn.SpanContext().SpanID().String(), rec.ProposedBySpan)
	require.NotEmpty(t, rec.PolicyRevision)

	// The action-path span links back to the turn that proposed the call.
	var tool sdktrace.ReadOnlySpan
	for _, s := range f.spans.Ended() {
		if s.Name() == "execute_tool fetch" {
			tool = s
		}
	}
	require.NotNil(t, tool)
	require.Len(t, tool.Links(), 1)
	require.Equal(t, turn.SpanContext().SpanID(), tool.Links()[0].SpanContext.SpanID())
	require.Contains(t, tool.Attributes(), attribute.String("gen_ai.tool.call.id", "call_7"))
	// The record names the span it belongs to.
	require.Equal(t, tool.SpanContext().TraceID().String(), rec.TraceID)
	require.Equal(t, tool.SpanContext().SpanID().String(), rec.SpanID)
	for _, kv := range tool.Attributes() {
		require.NotContains(t, kv.Value.String(), p.cred.Token(), "secret in span attribute %s", kv.Key)
	}
}

func TestPolicyDenialNeverRunsTool(t *testing.T) {
	f := newFixture(t)
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err := fetch(context.Background(), DocArgs{URL: "https://evil.example/x"})
	d := requireDenied(t, err, "destination_not_allowed")
	require.Equal(t, "fetch", d.Tool)
	require.NotEmpty(t, d.Reasons)
	require.Zero(t, p.ran.Load())
	rec := f.sink.last(t)
	require.False(t, rec.Allow)
	require.Equal(t, "denied", rec.Outcome)
	require.Equal(t, "destination_not_allowed", rec.Code)
	require.Empty(t, rec.CredentialID)
}

func TestFailClosedAtEveryStep(t *testing.T) {
	refuse := toolguard.ApproverFunc(func(context.Context, toolguard.ApprovalRequest) (toolguard.Approval, error) {
		return toolguard.Approval{Approved: false, Reason: "no"}, nil
	})
	broken := toolguard.ApproverFunc(func(context.Context, toolguard.ApprovalRequest) (toolguard.Approval, error) {
		return toolguard.Approval{}, errors.New("pager down")
	})
	slow := toolguard.ApproverFunc(func(ctx context.Context, _ toolguard.ApprovalRequest) (toolguard.Approval, error) {
		<-ctx.Done()
		return toolguard.Approval{Approved: true}, nil
	})
	cases := []struct {
		name  string
		opts  func(f *fixture) []toolguard.Option
		tool  toolguard.Tool
		args  DocArgs
		setup func(t *testing.T, f *fixture) context.Context
		code  string
	}{
		{name: "tool not granted", tool: toolguard.Tool{Name: "rm_rf", Effect: toolguard.Read}, code: "tool_not_granted"},
		{name: "write without approver", tool: toolguard.Tool{Name: "send_email", Effect: toolguard.Write, Destinations: []toolguard.Dest{toolguard.EmailArg("to")}},
			args: DocArgs{To: "bob@example.com"}, code: toolguard.CodeNoApprover},
		{name: "approver refuses", opts: opt(toolguard.WithApprover(refuse)),
			tool: toolguard.Tool{Name: "drop_table", Effect: toolguard.Destructive}, code: toolguard.CodeApprovalRefused},
		{name: "approver fails", opts: opt(toolguard.WithApprover(broken)),
			tool: toolguard.Tool{Name: "drop_table", Effect: toolguard.Destructive}, code: toolguard.CodeApprovalFailed},
		{name: "approver times out", opts: opt(toolguard.WithApprover(slow), toolguard.WithApprovalTimeout(20*time.Millisecond)),
			tool: toolguard.Tool{Name: "drop_table", Effect: toolguard.Destructive}, code: toolguard.CodeApprovalFailed},
		{name: "bad destination", tool: fetchTool, args: DocArgs{URL: "http://0x100.1/"}, code: toolguard.CodeBadDestination},
		{name: "path escape", tool: toolguard.Tool{Name: "read_doc", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.PathArg("path", "/srv/data")}},
			args: DocArgs{Path: "/srv/data/../../etc/shadow"}, code: toolguard.CodeBadDestination},
		{name: "identity expired", tool: fetchTool, args: DocArgs{URL: "https://docs.example.com/"},
			setup: func(t *testing.T, f *fixture) context.Context {
				f.now.Advance(25 * time.Hour)
				return context.Background()
			},
			code: toolguard.CodeIdentityExpired},
		{name: "identity closed", tool: fetchTool, args: DocArgs{URL: "https://docs.example.com/"},
			setup: func(t *testing.T, f *fixture) context.Context {
				require.NoError(t, f.id.Close())
				return context.Background()
			},
			code: toolguard.CodeIdentityUnavailable},
		{name: "policy error", opts: func(*fixture) []toolguard.Option {
			return []toolguard.Option{toolguard.WithDecider(deciderFunc(func(context.Context, *authz.Input) (authz.Decision, error) {
				return authz.Decision{}, &authz.Error{Code: authz.CodeDeadline, Err: context.DeadlineExceeded}
			}))}
		}, tool: fetchTool, args: DocArgs{URL: "https://docs.example.com/"}, code: authz.CodeDeadline},
		{name: "policy error without code", opts: func(*fixture) []toolguard.Option {
			return []toolguard.Option{toolguard.WithDecider(deciderFunc(func(context.Context, *authz.Input) (authz.Decision, error) {
				return authz.Decision{Allow: true}, errors.New("boom") // an error wins over allow
			}))}
		}, tool: fetchTool, args: DocArgs{URL: "https://docs.example.com/"}, code: authz.CodeEvalError},
		{name: "issuer fails", opts: func(f *fixture) []toolguard.Option {
			return []toolguard.Option{toolguard.WithDecider(allowAll(false)), toolguard.WithCredentialIssuer(&faultyIssuer{Issuer: f.minter, issueErr: errors.New("hsm offline")})}
		}, tool: fetchTool, args: DocArgs{URL: "https://docs.example.com/"}, code: toolguard.CodeCredentialUnavailable},
		{name: "canceled", tool: fetchTool, args: DocArgs{URL: "https://docs.example.com/"},
			setup: func(*testing.T, *fixture) context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			}, code: toolguard.CodeCanceled},
		{name: "closed guard", tool: fetchTool, args: DocArgs{URL: "https://docs.example.com/"},
			setup: func(t *testing.T, f *fixture) context.Context {
				require.NoError(t, f.guard.Close(context.Background()))
				return context.Background()
			}, code: toolguard.CodeGuardClosed},
		{name: "task expired", tool: fetchTool, args: DocArgs{URL: "https://docs.example.com/"},
			setup: func(t *testing.T, f *fixture) context.Context {
				return toolguard.WithTask(context.Background(), &toolguard.Task{ID: "t-1", ExpiresAt: f.now.Now().Add(-time.Second)})
			}, code: "task_expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f *fixture
			if tc.opts != nil {
				// Options that need the fixture's parts are built in two steps.
				base := newFixture(t)
				f = newFixture(t, tc.opts(base)...)
			} else {
				f = newFixture(t)
			}
			ctx := context.Background()
			if tc.setup != nil {
				ctx = tc.setup(t, f)
			}
			var p probe
			fn := wrap(t, f.guard, tc.tool, p.fn)
			_, err := fn(ctx, tc.args)
			requireDenied(t, err, tc.code)
			require.Zero(t, p.ran.Load(), "tool ran on deny")
			rec := f.sink.last(t)
			require.False(t, rec.Allow)
			require.Equal(t, "denied", rec.Outcome)
			require.Equal(t, tc.code, rec.Code)
			require.EqualValues(t, 1, f.guard.Stats().Denied)
		})
	}
}

func opt(o ...toolguard.Option) func(*fixture) []toolguard.Option {
	return func(*fixture) []toolguard.Option { return o }
}

func TestApprovalSeesFrozenArgsAndCallerMutationChangesNothing(t *testing.T) {
	args := DocArgs{To: "bob@example.com", Tags: map[string]string{"k": "v"}}
	var seen toolguard.ApprovalRequest
	approver := toolguard.ApproverFunc(func(_ context.Context, req toolguard.ApprovalRequest) (toolguard.Approval, error) {
		seen = req
		// The caller's value changes after the decision, before the tool runs.
		args.Tags["k"] = "tampered"
		args.Tags["extra"] = "x"
		return toolguard.Approval{Approved: true, By: "test"}, nil
	})
	f := newFixture(t, toolguard.WithApprover(approver))
	var p probe
	send := wrap(t, f.guard, toolguard.Tool{Name: "send_email", Effect: toolguard.Write, Destinations: []toolguard.Dest{toolguard.EmailArg("to")}}, p.fn)
	_, err := send(context.Background(), args)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"k": "v"}, p.args.Tags)
	require.JSONEq(t, `{"to":"bob@example.com","tags":{"k":"v"}}`, string(seen.Args))
	rec := f.sink.last(t)
	require.Equal(t, seen.ArgsDigest, rec.ArgsDigest)
	require.Equal(t, "approved", rec.Approval)
	require.Equal(t, "https://example.com", p.cred.Audience)
	require.Equal(t, []string{"email:send"}, p.cred.Scopes)
}

func TestToolErrorAndPanicStillRevokeAndRecord(t *testing.T) {
	f := newFixture(t)
	issuer := &faultyIssuer{Issuer: f.minter}
	f2 := newFixture(t, toolguard.WithCredentialIssuer(issuer))
	boom := errors.New("upstream 500")
	failing := wrap(t, f2.guard, fetchTool, func(context.Context, DocArgs) (string, error) { return "", boom })
	_, err := failing(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	require.ErrorIs(t, err, boom)
	var d *toolguard.DeniedError
	require.False(t, errors.As(err, &d), "a tool error is not a denial")
	require.EqualValues(t, 1, issuer.revoked.Load())
	require.Equal(t, "error", f2.sink.last(t).Outcome)
	require.True(t, f2.sink.last(t).Allow)

	panicking := wrap(t, f2.guard, fetchTool, func(context.Context, DocArgs) (string, error) { panic("tool bug") })
	require.PanicsWithValue(t, "tool bug", func() {
		_, _ = panicking(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	})
	require.EqualValues(t, 2, issuer.revoked.Load())
	require.Equal(t, "panic", f2.sink.last(t).Outcome)
}

func TestLossyPathsAreCounted(t *testing.T) {
	base := newFixture(t)
	issuer := &faultyIssuer{Issuer: base.minter, revokeErr: errors.New("revocation store down")}
	sink := &memSink{err: errors.New("disk full")}
	f := newFixture(t, toolguard.WithCredentialIssuer(issuer), toolguard.WithSink(sink))
	fetch := wrap(t, f.guard, fetchTool, (&probe{}).fn)
	_, err := fetch(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	st := f.guard.Stats()
	require.EqualValues(t, 1, st.Calls)
	require.EqualValues(t, 1, st.RevokeFailures)
	require.EqualValues(t, 1, st.SinkFailures)
	require.Len(t, sink.all(), 1)
}

func TestRecordsDoNotDependOnSampling(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	f := newFixture(t, toolguard.WithTracerProvider(tp))
	fetch := wrap(t, f.guard, fetchTool, (&probe{}).fn)
	for _, u := range []string{"https://docs.example.com/", "https://evil.example/"} {
		_, _ = fetch(context.Background(), DocArgs{URL: u})
	}
	require.Empty(t, rec.Ended())
	recs := f.sink.all()
	require.Len(t, recs, 2)
	require.True(t, recs[0].Allow)
	require.False(t, recs[1].Allow)
}

func TestTaintFromToolOutputReachesLaterCalls(t *testing.T) {
	var inputs []authz.Input
	eng := testEngine(t)
	spy := deciderFunc(func(ctx context.Context, in *authz.Input) (authz.Decision, error) {
		inputs = append(inputs, *in)
		return eng.Decide(ctx, in)
	})
	f := newFixture(t, toolguard.WithDecider(spy))
	tool := fetchTool
	tool.OutputTaint = []string{"untrusted:web"}
	fetch := wrap(t, f.guard, tool, (&probe{}).fn)
	send := wrap(t, f.guard, toolguard.Tool{Name: "send_email", Effect: toolguard.Write, Destinations: []toolguard.Dest{toolguard.EmailArg("to")}}, (&probe{}).fn)

	task := &toolguard.Task{ID: "t-1", Purpose: "triage", Scopes: []string{"email:read"}}
	ctx := toolguard.WithTask(toolguard.WithTaintSet(context.Background(), toolguard.NewTaintSet()), task)
	ctx = toolguard.WithPrincipal(ctx, toolguard.Principal{User: "alice@example.com", Chain: []string{"user:alice@example.com"}})
	_, err := fetch(ctx, DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	_, err = send(ctx, DocArgs{To: "bob@example.com"})
	d := requireDenied(t, err, toolguard.CodeNoApprover)
	require.Contains(t, codesOf(d.Reasons), "tainted_context_requires_approval")

	require.Len(t, inputs, 2)
	require.Empty(t, inputs[0].Context.Taint)
	require.Equal(t, []string{"untrusted:web"}, inputs[1].Context.Taint)
	require.Equal(t, 0, inputs[0].Task.CallsUsed)
	require.Equal(t, 1, inputs[1].Task.CallsUsed)
	require.Equal(t, 2, task.CallsUsed())
	require.Equal(t, "alice@example.com", inputs[1].Principal.User)
	require.Equal(t, []string{"user:alice@example.com", agentID}, inputs[1].Principal.Chain)
	require.Equal(t, "ztagent.dev", inputs[1].Subject.TrustDomain)
	require.Equal(t, f.now.Now(), inputs[1].Time)
}

func TestEmbeddedDefaultsDenyEverythingUntilGranted(t *testing.T) {
	ctx := context.Background()
	sink := &memSink{}
	g, err := toolguard.New(ctx, toolguard.WithSink(sink))
	require.NoError(t, err)
	defer g.Close(ctx)
	var p probe
	fetch := wrap(t, g, fetchTool, p.fn)
	_, err = fetch(ctx, DocArgs{URL: "https://docs.example.com/"})
	requireDenied(t, err, "tool_not_granted")
	require.Zero(t, p.ran.Load())
	require.Equal(t, "spiffe://ztagent.dev/agent/default", sink.last(t).Subject)
}

func TestNewRejectsBadOptions(t *testing.T) {
	ctx := context.Background()
	for name, o := range map[string]toolguard.Option{
		"nil option":                  nil,
		"nil identity":                toolguard.WithIdentity(nil),
		"nil decider":                 toolguard.WithDecider(nil),
		"nil issuer":                  toolguard.WithCredentialIssuer(nil),
		"nil issuer, deprecated name": toolguard.WithIssuer(nil), // the deprecated forward still checks
		"nil sink":                    toolguard.WithSink(nil),
		"nil approver":                toolguard.WithApprover(nil),
		"nil clock":                   toolguard.WithClock(nil),
		"nil provider":                toolguard.WithTracerProvider(nil),
		"zero timeout":                toolguard.WithApprovalTimeout(0),
		"bad policy doc":              toolguard.WithPolicyData([]byte("{not json")),
	} {
		t.Run(name, func(t *testing.T) {
			g, err := toolguard.New(ctx, o)
			require.Error(t, err)
			require.Nil(t, g)
		})
	}
}

func TestNilGuardDenies(t *testing.T) {
	var g *toolguard.Guard
	_, err := toolguard.Wrap(g, fetchTool, (&probe{}).fn)
	require.ErrorContains(t, err, "nil guard")
	require.NoError(t, g.Close(context.Background()))
	require.Equal(t, toolguard.Stats{}, g.Stats())
}

func TestCloseIsIdempotent(t *testing.T) {
	ctx := context.Background()
	g, err := toolguard.New(ctx, toolguard.WithSink(&memSink{}))
	require.NoError(t, err)
	require.NoError(t, g.Close(ctx))
	require.NoError(t, g.Close(ctx))
}

var _ identity.Source = (*identity.DevSource)(nil)

func codesOf(rs []authz.Reason) []string {
	var codes []string
	for _, r := range rs {
		codes = append(codes, r.Code)
	}
	return codes
}

func TestPolicyErrorsDoNotLeakArgumentValues(t *testing.T) {
	const secret = "hunter2-api-key"
	leaky := deciderFunc(func(context.Context, *authz.Input) (authz.Decision, error) {
		return authz.Decision{}, &authz.Error{Code: authz.CodeEvalError, Err: errors.New(`to_number: invalid syntax "` + secret + `"`)}
	})
	f := newFixture(t, toolguard.WithDecider(leaky))
	fetch := wrap(t, f.guard, fetchTool, (&probe{}).fn)
	_, err := fetch(context.Background(), DocArgs{URL: "https://docs.example.com/", To: secret})
	d := requireDenied(t, err, authz.CodeEvalError)
	require.NotContains(t, d.Error(), secret)
	require.NotContains(t, f.sink.last(t).Error, secret)
	for _, s := range f.spans.Ended() {
		require.NotContains(t, s.Status().Description, secret)
		for _, kv := range s.Attributes() {
			require.NotContains(t, kv.Value.String(), secret)
		}
		for _, e := range s.Events() {
			for _, kv := range e.Attributes {
				require.NotContains(t, kv.Value.String(), secret)
			}
		}
	}
}

func TestShadowFlipsReachSpanAndRecord(t *testing.T) {
	candidate := authz.PolicySet{Modules: authz.DefaultPolicy(), Data: []byte(`{"agents": {}}`), Source: "candidate"}
	eng, err := authz.New(context.Background(), authz.WithDataJSON(policyData), authz.WithTimeout(30*time.Second), authz.WithShadow(candidate))
	require.NoError(t, err)
	f := newFixture(t, toolguard.WithDecider(eng))
	var p probe
	fetch := wrap(t, f.guard, fetchTool, p.fn)
	_, err = fetch(context.Background(), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err, "the enforced decision stands")
	require.EqualValues(t, 1, p.ran.Load())

	rec := f.sink.last(t)
	require.NotNil(t, rec.Shadow)
	require.Equal(t, authz.FlipAllowToDeny, rec.Shadow.Flip)
	require.Equal(t, "tool_not_granted", rec.Shadow.Code)
	var flipped bool
	for _, s := range f.spans.Ended() {
		for _, e := range s.Events() {
			flipped = flipped || e.Name == "ztagent.shadow.flip"
		}
	}
	require.True(t, flipped, "flip event on the guardrail span")
	require.EqualValues(t, 1, eng.Stats().ShadowAllowToDeny)
}
