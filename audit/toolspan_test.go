package audit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/ztagent/ztagent/audit"
)

func TestToolCallSpanShape(t *testing.T) {
	tr, rec := newTracer(t)
	ctx, agent := tr.StartAgent(context.Background(), audit.Agent{Name: "support", ConversationID: "c-1"})
	turnCtx, turn := tr.StartTurn(ctx, audit.Turn{Model: "m", Number: 1})
	turn.Proposed("call_7", "send_email")
	turn.End()

	callCtx, tool := startCall(t, tr, turnCtx, audit.CallStart{
		Tool: "send_email", CallID: "call_7", Effect: "write", Risk: "high", ArgsDigest: "sha256:abc",
	})
	require.Equal(t, tool.SpanContext(), trace.SpanContextFromContext(callCtx), "execute_tool is active in its ctx")
	tool.StartDecision(callCtx)
	tool.Decided(audit.Verdict{Allow: true, Code: "allowed"}, false)
	tool.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	agent.End()

	a := byName(t, rec, "invoke_agent support")
	c := byName(t, rec, "chat m")
	x := byName(t, rec, "execute_tool send_email")
	gr := byName(t, rec, "run_guardrail ztagent.authz")

	// chat and execute_tool are siblings under invoke_agent.
	require.Equal(t, a.SpanContext().SpanID(), c.Parent().SpanID())
	require.Equal(t, a.SpanContext().SpanID(), x.Parent().SpanID())
	require.Equal(t, x.SpanContext().SpanID(), gr.Parent().SpanID())
	require.Equal(t, a.SpanContext().TraceID(), x.SpanContext().TraceID())

	require.Equal(t, trace.SpanKindInternal, x.SpanKind())
	requireAttrs(t, spanAttrs(x), map[string]any{
		"gen_ai.operation.name":  "execute_tool",
		"gen_ai.tool.name":       "send_email",
		"gen_ai.tool.call.id":    "call_7",
		"gen_ai.tool.type":       "function",
		"gen_ai.conversation.id": "c-1",
		"ztagent.tool.effect":    "write",
		"ztagent.tool.risk":      "high",
		"ztagent.args.digest":    "sha256:abc",
		"ztagent.outcome":        "ok",
	}, "error.type")
	require.Equal(t, codes.Unset, x.Status().Code)

	require.Len(t, x.Links(), 1)
	require.Equal(t, c.SpanContext(), x.Links()[0].SpanContext)
	requireAttrs(t, attrMap(x.Links()[0].Attributes), map[string]any{"ztagent.link.kind": "proposed_by"})
}

// A call links to the turn that proposed it, not to another turn's, even when
// it runs from a ctx that also remembers later turns.
func TestToolCallLinksToItsOwnTurn(t *testing.T) {
	tr, rec := newTracer(t)
	ctx, agent := tr.StartAgent(context.Background(), audit.Agent{Name: "a"})
	ctx1, turn1 := tr.StartTurn(ctx, audit.Turn{Model: "m", Number: 1})
	turn1.Proposed("call_1", "read_file")
	turn1.Proposed("call_reused", "read_file")
	turn1.End()
	ctx2, turn2 := tr.StartTurn(ctx1, audit.Turn{Model: "m", Number: 2})
	turn2.Proposed("call_2", "send_email")
	turn2.Proposed("call_reused", "send_email")
	turn2.End()

	tests := []struct {
		name   string
		ctx    context.Context
		callID string
		want   trace.SpanContext // zero: no link
	}{
		{"own turn", ctx2, "call_2", turn2.SpanContext()},
		{"earlier turn through the chain", ctx2, "call_1", turn1.SpanContext()},
		{"reused id goes to the newest proposer", ctx2, "call_reused", turn2.SpanContext()},
		{"later turn is not visible from an earlier ctx", ctx1, "call_2", trace.SpanContext{}},
		{"unknown call", ctx2, "call_404", trace.SpanContext{}},
		{"no turn in ctx", ctx, "call_1", trace.SpanContext{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec.Reset()
			_, tool := startCall(t, tr, tc.ctx, audit.CallStart{Tool: tc.name, CallID: tc.callID})
			tool.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
			x := byName(t, rec, "execute_tool "+tc.name)
			if !tc.want.IsValid() {
				require.Empty(t, x.Links())
				return
			}
			require.Len(t, x.Links(), 1)
			require.Equal(t, tc.want, x.Links()[0].SpanContext)
		})
	}
	agent.End()
}

func TestToolSpanEvents(t *testing.T) {
	tr, rec := newTracer(t)
	_, tool := startCall(t, tr, context.Background(), audit.CallStart{Tool: "send_email", CallID: "call_1"})
	notAfter := time.Date(2026, 11, 30, 12, 5, 0, 0, time.FixedZone("X", 3600))
	tool.Identity(audit.Identity{SPIFFEID: "spiffe://example.org/agent/support", Serial: "1234abcd", NotAfter: notAfter})
	tool.ApprovalRequested("write_requires_approval")
	tool.ApprovalResolved(audit.ApprovalApproved, "alice@example.com", "looks fine")
	tool.CredentialIssued(audit.Credential{ID: "jti-1", Audience: "https://mail.example.com", TTL: 90 * time.Second})
	tool.CredentialRevoked("jti-1", errors.New("creds: revocation store unavailable"))
	tool.End(context.Background(), audit.Outcome{Status: audit.StatusOK})

	x := byName(t, rec, "execute_tool send_email")
	requireAttrs(t, spanAttrs(x), map[string]any{
		"ztagent.subject.spiffe_id":    "spiffe://example.org/agent/support",
		"ztagent.svid.serial":          "1234abcd",
		"ztagent.svid.expires_at":      "2026-11-30T11:05:00Z",
		"ztagent.approval.status":      "approved",
		"ztagent.credential.id":        "jti-1",
		"ztagent.credential.revoke.ok": false,
	})

	tests := []struct {
		event string
		want  map[string]any
	}{
		{audit.EventApprovalRequested, map[string]any{"ztagent.approval.reason": "write_requires_approval"}},
		{audit.EventApprovalResolved, map[string]any{
			"ztagent.approval.approved": true,
			"ztagent.approval.by":       "alice@example.com",
			"ztagent.approval.reason":   "looks fine",
		}},
		{audit.EventCredentialIssued, map[string]any{
			"ztagent.credential.id":       "jti-1",
			"ztagent.credential.audience": "https://mail.example.com",
			"ztagent.credential.ttl_s":    90.0,
		}},
		{audit.EventCredentialRevoked, map[string]any{
			"ztagent.credential.id":           "jti-1",
			"ztagent.credential.revoke.ok":    false,
			"ztagent.credential.revoke.error": "creds: revocation store unavailable",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.event, func(t *testing.T) {
			requireAttrs(t, attrMap(eventNamed(t, x, tc.event).Attributes), tc.want)
		})
	}
}

func TestApprovalRefusedAndCleanRevoke(t *testing.T) {
	tr, rec := newTracer(t)
	_, tool := startCall(t, tr, context.Background(), audit.CallStart{Tool: "rm"})
	tool.ApprovalResolved(audit.ApprovalRefused, "bob", "timeout")
	tool.CredentialRevoked("jti-2", nil)
	tool.End(context.Background(), audit.Outcome{Status: audit.StatusDenied, Code: "approval_refused"})

	x := byName(t, rec, "execute_tool rm")
	requireAttrs(t, spanAttrs(x), map[string]any{
		"ztagent.approval.status":      "refused",
		"ztagent.credential.revoke.ok": true,
	})
	requireAttrs(t, attrMap(eventNamed(t, x, audit.EventCredentialRevoked).Attributes),
		map[string]any{"ztagent.credential.revoke.ok": true}, "ztagent.credential.revoke.error")
}

func TestToolSpanEnd(t *testing.T) {
	toolErr := errors.New("upstream 503")
	tests := []struct {
		name       string
		outcome    audit.Outcome
		wantStatus codes.Code
		wantDesc   string
		want       map[string]any
		absent     []string
		exception  bool
	}{
		{
			name:       "ok",
			outcome:    audit.Outcome{Status: audit.StatusOK},
			wantStatus: codes.Unset,
			want:       map[string]any{"ztagent.outcome": "ok"},
			absent:     []string{"error.type", "ztagent.outcome.code"},
		},
		{
			name:       "denied",
			outcome:    audit.Outcome{Status: audit.StatusDenied, Code: "tool_not_granted"},
			wantStatus: codes.Error,
			wantDesc:   "denied: tool_not_granted",
			want: map[string]any{
				"ztagent.outcome":      "denied",
				"ztagent.outcome.code": "tool_not_granted",
				"error.type":           "tool_not_granted",
			},
		},
		{
			name:       "error with err",
			outcome:    audit.Outcome{Status: audit.StatusError, Err: toolErr},
			wantStatus: codes.Error,
			wantDesc:   "upstream 503",
			want:       map[string]any{"ztagent.outcome": "error", "error.type": "_OTHER"},
			exception:  true,
		},
		{
			name:       "panic",
			outcome:    audit.Outcome{Status: audit.StatusPanic, Err: errors.New("panic: boom")},
			wantStatus: codes.Error,
			wantDesc:   "panic: boom",
			want:       map[string]any{"ztagent.outcome": "panic", "error.type": "panic"},
			exception:  true,
		},
		{
			name:       "empty status is not a success",
			outcome:    audit.Outcome{},
			wantStatus: codes.Error,
			wantDesc:   "error",
			want:       map[string]any{"ztagent.outcome": "error", "error.type": "_OTHER"},
		},
		{
			name:       "unknown status is an error",
			outcome:    audit.Outcome{Status: "fine", Code: "weird"},
			wantStatus: codes.Error,
			wantDesc:   "error: weird",
			want:       map[string]any{"ztagent.outcome": "error", "error.type": "weird"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, rec := newTracer(t)
			_, tool := startCall(t, tr, context.Background(), audit.CallStart{Tool: "x"})
			require.NoError(t, tool.End(context.Background(), tc.outcome))
			require.NoError(t, tool.End(context.Background(), audit.Outcome{Status: audit.StatusOK})) // idempotent: ignored

			require.Len(t, rec.Ended(), 1)
			x := rec.Ended()[0]
			require.Equal(t, tc.wantStatus, x.Status().Code)
			require.Equal(t, tc.wantDesc, x.Status().Description)
			requireAttrs(t, spanAttrs(x), tc.want, tc.absent...)
			require.Equal(t, tc.exception, hasEvent(x, "exception"))
		})
	}
}

func hasEvent(s sdktrace.ReadOnlySpan, name string) bool {
	for _, e := range s.Events() {
		if e.Name == name {
			return true
		}
	}
	return false
}

// A nil *Call must never panic: a guard that failed half-way still ends it.
func TestZeroValuesAreInert(t *testing.T) {
	require.NotPanics(t, func() {
		var c *audit.Call
		c.Identity(audit.Identity{SPIFFEID: "spiffe://x/y", Serial: "1", NotAfter: time.Now()})
		c.Destinations([]string{"x"})
		c.ApprovalRequested("r")
		c.ApprovalResolved(audit.ApprovalApproved, "a", "r")
		c.CredentialIssued(audit.Credential{ID: "id", Audience: "aud", TTL: time.Second})
		c.CredentialRevoked("id", nil)
		require.Equal(t, context.Background(), c.StartDecision(context.Background()))
		c.Decided(audit.Verdict{}, false)
		require.NoError(t, c.Authorized(context.Background()))
		require.NoError(t, c.End(context.Background(), audit.Outcome{}))
		require.False(t, c.SpanContext().IsValid())
		require.Empty(t, c.ID())

		var tr *audit.TurnRecorder
		tr.Proposed("c", "t")
		tr.End()
		require.False(t, tr.SpanContext().IsValid())
		var zr audit.TurnRecorder
		zr.Proposed("c", "t")
		zr.End()
	})
}

// keepingSampler keeps the start attributes it is shown, as a sampler may.
type keepingSampler struct{ kept []attribute.KeyValue }

func (s *keepingSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	s.kept = p.Attributes
	return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
}
func (s *keepingSampler) Description() string { return "keeping" }

// The ToolSpan reuses its attribute buffer once the span has started: what a
// sampler kept of the start attributes is not overwritten by those set later.
func TestToolSpanStartAttributesSurviveLaterOnes(t *testing.T) {
	s := &keepingSampler{}
	tr, rec := newTracer(t, sdktrace.WithSampler(s))
	_, tool := startCall(t, tr, context.Background(), audit.CallStart{
		Tool: "fetch", CallID: "call_1", Effect: "read", Risk: "low", ArgsDigest: "sha256:abc",
		Identity: &audit.Identity{SPIFFEID: "spiffe://example.org/a", Serial: "0a", NotAfter: time.Now().Add(time.Hour)},
	})
	start := slices.Clone(s.kept)
	require.Contains(t, start, attribute.String("gen_ai.tool.name", "fetch"))
	for i := range 20 { // more than the buffer holds
		tool.CredentialIssued(audit.Credential{ID: fmt.Sprint("cred-", i), Reused: true})
	}
	tool.Decided(audit.Verdict{Allow: true, PolicyID: "p", PolicyRevision: "r"}, true)
	tool.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
	require.Equal(t, start, s.kept)
	got := attrMap(rec.Ended()[0].Attributes())
	for _, kv := range start {
		require.Equal(t, kv.Value, got[string(kv.Key)], kv.Key)
	}
	require.Equal(t, "cred-19", got["ztagent.credential.id"].AsString())
}
