package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/audit"
)

// clock returns times 1.5 ms apart, so durations are exact.
func clock() func() time.Time {
	t := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		now := t
		t = t.Add(1500 * time.Microsecond)
		return now
	}
}

// The record follows the steps: each method fills in its part, and End
// writes the whole, with the span's ids and the proposing turn.
func TestCallRecordFollowsTheSteps(t *testing.T) {
	tr, _ := newTracer(t)
	sink := &memSink{}
	r, err := audit.NewCallRecorder(tr, sink, audit.WithClock(clock()))
	require.NoError(t, err)
	ctx, turn := tr.StartTurn(context.Background(), audit.Turn{Model: "m", ConversationID: "c-1"})
	turn.Proposed("call_7", "send_email")
	notAfter := time.Date(2026, 11, 30, 13, 0, 0, 0, time.UTC)
	_, c := r.Start(ctx, audit.CallStart{
		Tool: "send_email", CallID: "call_7", Effect: "write", Risk: "medium", ArgsDigest: "hmac-sha256:ab",
		Identity: &audit.Identity{SPIFFEID: "spiffe://td/agent", Serial: "1f", NotAfter: notAfter},
	})
	c.Destinations([]string{"email:example.com"})
	c.StartDecision(ctx)
	c.Decided(audit.Verdict{Allow: true, Reasons: []audit.Reason{{Code: "write_requires_approval"}}, PolicyID: "p", PolicyRevision: "r", ApprovalRequired: true}, false)
	c.ApprovalRequested("write_requires_approval")
	c.ApprovalResolved(audit.ApprovalApproved, "alice", "ok")
	c.CredentialIssued(audit.Credential{ID: "jti-1", Audience: "https://example.com", TTL: time.Minute})
	require.NoError(t, c.Authorized(ctx), "lenient: nothing written early")
	c.CredentialRevoked("jti-1", nil)
	require.NoError(t, c.End(ctx, audit.Outcome{Status: audit.StatusOK}))

	recs := sink.all()
	require.Len(t, recs, 1)
	rec := recs[0]
	require.Equal(t, turn.SpanContext().SpanID().String(), rec.ProposedBySpan)
	require.Equal(t, c.SpanContext().TraceID().String(), rec.TraceID)
	require.Equal(t, c.SpanContext().SpanID().String(), rec.SpanID)
	rec.TraceID, rec.SpanID, rec.ProposedBySpan = "", "", ""
	require.Equal(t, audit.Record{
		Time: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), ConversationID: "c-1", CallID: "call_7",
		Tool: "send_email", Effect: "write", Risk: "medium", Subject: "spiffe://td/agent", SVIDSerial: "1f",
		ArgsDigest: "hmac-sha256:ab", Destinations: []string{"email:example.com"},
		Allow: true, Code: "write_requires_approval", Reasons: []audit.Reason{{Code: "write_requires_approval"}},
		PolicyID: "p", PolicyRevision: "r", Approval: "approved",
		CredentialID: "jti-1", CredentialAudience: "https://example.com", CredentialTTLSeconds: 60,
		Outcome: "ok", DurationMS: 1.5,
	}, rec)
}

// A denial is recorded as one: allow false, its code, its reason as the
// error; a sink failure is returned and counted, never dropped silently.
func TestCallEndDenied(t *testing.T) {
	errDown := errors.New("collector down")
	var got []audit.Record
	r, err := audit.NewCallRecorder(nil, audit.SinkFunc(func(ctx context.Context, rec *audit.Record) error {
		require.NoError(t, ctx.Err(), "written even for a canceled call")
		got = append(got, *rec)
		return errDown
	}))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, c := r.Start(ctx, audit.CallStart{Tool: "fetch", CallID: "c1"})
	c.Decided(audit.Verdict{Allow: true, Code: "allowed"}, true)
	require.ErrorIs(t, c.End(ctx, audit.Outcome{Status: audit.StatusDenied, Code: "credential_unavailable", Reason: "no credential"}), errDown)
	require.NoError(t, c.End(ctx, audit.Outcome{Status: audit.StatusOK}), "only the first End counts")
	require.Len(t, got, 1)
	require.False(t, got[0].Allow)
	require.Equal(t, "credential_unavailable", got[0].Code)
	require.Equal(t, "no credential", got[0].Error)
	require.Equal(t, audit.StatusDenied, got[0].Outcome)
	require.EqualValues(t, 1, r.SinkFailures())
}

// Under WithStrictRecords, Authorized writes the record as it stands before
// the tool runs, and reports a lost one; leniently it writes nothing.
func TestCallAuthorized(t *testing.T) {
	errDown := errors.New("collector down")
	for _, tc := range []struct {
		name      string
		strict    bool
		sinkErr   error
		wantWrite bool
	}{
		{"lenient writes nothing early", false, nil, false},
		{"strict writes the record first", true, nil, true},
		{"strict reports a lost record", true, errDown, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []audit.Record
			sink := audit.SinkFunc(func(ctx context.Context, r *audit.Record) error {
				require.NoError(t, ctx.Err(), "written even for a canceled call")
				got = append(got, *r)
				return tc.sinkErr
			})
			opts := []audit.CallOption{audit.WithClock(clock())}
			if tc.strict {
				opts = append(opts, audit.WithStrictRecords())
			}
			r, err := audit.NewCallRecorder(nil, sink, opts...)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, c := r.Start(ctx, audit.CallStart{Tool: "send_email", CallID: "call_1"})
			c.Decided(audit.Verdict{Allow: true, Code: "allowed"}, false)
			err = c.Authorized(ctx)
			require.ErrorIs(t, err, tc.sinkErr)
			if !tc.wantWrite {
				require.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			require.Equal(t, audit.StatusAuthorized, got[0].Outcome)
			require.True(t, got[0].Allow)
			require.Equal(t, 1.5, got[0].DurationMS)
			require.Equal(t, tc.sinkErr != nil, r.SinkFailures() == 1)
		})
	}
}

// With WithArgs the record shows the arguments less the tool's and the
// decision's redact paths, and only when the policy decided.
func TestCallArgs(t *testing.T) {
	rec, err := audit.NewArgsRecorder(nil)
	require.NoError(t, err)
	const args = `{"to":"bob@example.com","body":"hunter2","key":"k-1"}`
	for _, tc := range []struct {
		name     string
		args     *audit.ArgsRecorder
		raw      string
		redact   []string
		evalErr  error
		want     map[string]any
		toolSays []string
	}{
		{"not asked for", nil, args, nil, nil, nil, nil},
		{"redacted per decision", rec, args, []string{"call.args.body"}, nil,
			map[string]any{"to": "bob@example.com", "body": audit.Redacted, "key": "k-1"}, nil},
		{"and per tool", rec, args, []string{"call.args.body"}, nil,
			map[string]any{"to": "bob@example.com", "body": audit.Redacted, "key": audit.Redacted}, []string{"key"}},
		{"no decision, no values", rec, args, nil, errors.New("eval"), nil, nil},
		{"not an object", rec, `["hunter2"]`, nil, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &memSink{}
			r, err := audit.NewCallRecorder(nil, sink, audit.WithArgs(tc.args))
			require.NoError(t, err)
			_, c := r.Start(context.Background(), audit.CallStart{Tool: "send_email", Args: []byte(tc.raw), Redact: tc.toolSays})
			c.Decided(audit.Verdict{Allow: tc.evalErr == nil, Err: tc.evalErr, Redact: tc.redact}, false)
			require.NoError(t, c.End(context.Background(), audit.Outcome{Status: audit.StatusOK}))
			require.Equal(t, tc.want, sink.all()[0].Args)
		})
	}
}

func TestNewCallRecorderRefusesNil(t *testing.T) {
	_, err := audit.NewCallRecorder(nil, nil)
	require.ErrorContains(t, err, "nil Sink")
	_, err = audit.NewCallRecorder(nil, &memSink{}, nil)
	require.ErrorContains(t, err, "nil CallOption")
}

// A turn recorded on a provider that records nothing cannot be linked to:
// the call's span says so and the recorder counts it, instead of silently
// starting an unlinked span.
func TestCallUnlinkedFromAnUnrecordedTurn(t *testing.T) {
	tr, rec := newTracer(t)
	r, err := audit.NewCallRecorder(tr, &memSink{})
	require.NoError(t, err)
	ctx, turn := audit.StartTurn(context.Background(), audit.Turn{Model: "m"}) // the global provider: a no-op here
	turn.Proposed("call_1", "fetch")
	_, c := r.Start(ctx, audit.CallStart{Tool: "fetch", CallID: "call_1"})
	require.NoError(t, c.End(ctx, audit.Outcome{Status: audit.StatusOK}))
	require.EqualValues(t, 1, r.Unlinked())
	requireAttrs(t, spanAttrs(byName(t, rec, "execute_tool fetch")), map[string]any{"ztagent.link.missing": "turn_not_recorded"})

	ctx, turn = r.Tracer().StartTurn(context.Background(), audit.Turn{Model: "m"})
	turn.Proposed("call_2", "other")
	_, c = r.Start(ctx, audit.CallStart{Tool: "other", CallID: "call_2"})
	require.NoError(t, c.End(ctx, audit.Outcome{Status: audit.StatusOK}))
	require.EqualValues(t, 1, r.Unlinked(), "a turn on the recorder's tracer links")
	require.Len(t, byName(t, rec, "execute_tool other").Links(), 1)
}
