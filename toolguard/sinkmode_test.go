package toolguard

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/authz"
)

var sinkModeKey = []byte("0123456789abcdef-sinkmode")

func TestAuditOptions(t *testing.T) {
	tests := []struct {
		name       string
		opts       []Option
		wantStrict bool
		wantArgs   bool
	}{
		{"default: lenient, no values", nil, false, false},
		{"strict", []Option{WithStrictAudit()}, true, false},
		{"record args without key", []Option{WithRecordArgs(nil)}, false, true},
		{"record args with key, strict", []Option{WithRecordArgs(sinkModeKey), nil, WithStrictAudit()}, true, true},
		{"other options ignored", []Option{WithApprovalTimeout(time.Second)}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := configOf(tc.opts)
			require.Equal(t, tc.wantStrict, c.audit.strict)
			require.Equal(t, tc.wantArgs, c.audit.args != nil)
			require.NoError(t, c.err)
		})
	}
}

func TestAuditOptionErrors(t *testing.T) {
	for _, key := range [][]byte{{}, []byte("short")} {
		g, err := New(context.Background(), WithRecordArgs(key), WithStrictAudit())
		require.ErrorContains(t, err, "toolguard: WithRecordArgs")
		require.ErrorContains(t, err, "shorter than 16")
		require.Nil(t, g)
		require.Nil(t, configOf([]Option{WithRecordArgs(key)}).audit.args)
	}
}

// configOf applies opts as New does, skipping nil ones.
func configOf(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// sinkModeCall is a call that has been authorized, as recordDecision sees it.
func sinkModeCall(sink audit.Sink, raw string, redact []string) *call {
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	g := &Guard{sink: sink, now: func() time.Time { return start.Add(1500 * time.Microsecond) }}
	return &call{
		g: g, tool: &Tool{Name: "send_email"}, id: "call_1", start: start,
		args: frozen{raw: []byte(raw)},
		dec:  authz.Decision{Allow: true, Redact: redact},
		rec:  audit.Record{Time: start, CallID: "call_1", Tool: "send_email", Allow: true, Code: "allowed"},
	}
}

func TestRecordDecision(t *testing.T) {
	errDown := errors.New("collector down")
	tests := []struct {
		name      string
		strict    bool
		sinkErr   error
		wantDeny  bool
		wantWrite bool
	}{
		{"lenient writes nothing early", false, nil, false, false},
		{"strict writes the decision first", true, nil, false, true},
		{"strict denies when the record is lost", true, errDown, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []audit.Record
			sink := audit.SinkFunc(func(ctx context.Context, r *audit.Record) error {
				require.NoError(t, ctx.Err(), "written even for a canceled call")
				got = append(got, *r)
				return tc.sinkErr
			})
			c := sinkModeCall(sink, `{}`, nil)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			d := auditSettings{strict: tc.strict}.recordDecision(ctx, c)
			if tc.wantWrite {
				require.Len(t, got, 1)
				require.Equal(t, audit.StatusAuthorized, got[0].Outcome)
				require.True(t, got[0].Allow)
				require.Equal(t, 1.5, got[0].DurationMS)
			} else {
				require.Empty(t, got)
			}
			require.Empty(t, c.rec.Outcome, "the final record is not touched")
			if !tc.wantDeny {
				require.Nil(t, d)
				require.True(t, c.rec.Allow)
				require.Zero(t, c.g.stats.sinkFailures.Load())
				return
			}
			require.NotNil(t, d)
			require.Equal(t, CodeAuditUnavailable, d.Code)
			require.ErrorIs(t, d, errDown)
			require.False(t, c.rec.Allow)
			require.Equal(t, CodeAuditUnavailable, c.rec.Code)
			require.EqualValues(t, 1, c.g.stats.sinkFailures.Load())
		})
	}
}

func TestRecordArgs(t *testing.T) {
	rec, err := audit.NewArgsRecorder(nil)
	require.NoError(t, err)
	const args = `{"to":"bob@example.com","body":"hunter2"}`
	tests := []struct {
		name      string
		settings  auditSettings
		raw       string
		redact    []string
		decideErr error
		want      map[string]any
	}{
		{"not asked for", auditSettings{}, args, nil, nil, nil},
		{"redacted per decision", auditSettings{args: rec}, args, []string{"call.args.body"}, nil, map[string]any{"to": "bob@example.com", "body": audit.Redacted}},
		{"no decision, no values", auditSettings{args: rec}, args, nil, errors.New("eval"), nil},
		{"not an object", auditSettings{args: rec}, `["hunter2"]`, nil, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := sinkModeCall(audit.SinkFunc(func(context.Context, *audit.Record) error { return nil }), tc.raw, tc.redact)
			tc.settings.recordArgs(c, tc.decideErr)
			require.Equal(t, tc.want, c.rec.Args)
		})
	}
}
