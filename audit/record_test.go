package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/ztagent/ztagent/audit"
)

// lockedBuffer lets the test read what concurrent writers produced; the
// JSONLines lock is what keeps lines whole, this one only satisfies -race.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// chunkWriter writes in small pieces, the way a pipe or socket may, so any
// interleaving between concurrent Writes would split lines.
type chunkWriter struct{ dst *lockedBuffer }

func (c chunkWriter) Write(p []byte) (int, error) {
	for i := 0; i < len(p); i += 7 {
		end := min(i+7, len(p))
		if _, err := c.dst.Write(p[i:end]); err != nil {
			return i, err
		}
	}
	return len(p), nil
}

func TestJSONLinesConcurrentWrites(t *testing.T) {
	var out lockedBuffer
	sink := audit.NewJSONLines(chunkWriter{dst: &out})
	const writers, each = 8, 50
	errs := make(chan error, writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- sink.Write(context.Background(), &audit.Record{
					Time:    time.Unix(1700000000, 0).UTC(),
					CallID:  fmt.Sprintf("call_%d_%d", w, i),
					Tool:    "send_email",
					Effect:  "write",
					Allow:   i%2 == 0,
					Reasons: []audit.Reason{{Code: "allowed", Message: "<ok> & fine"}},
					Outcome: audit.StatusOK,
				})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, writers*each)
	seen := make(map[string]bool)
	for _, line := range lines {
		var r audit.Record
		require.NoError(t, json.Unmarshal([]byte(line), &r), "line %q", line)
		require.False(t, seen[r.CallID], "duplicate %s", r.CallID)
		seen[r.CallID] = true
		require.Contains(t, line, `"<ok> & fine"`, "no HTML escaping")
	}
	require.Zero(t, sink.Failures())
}

type failingWriter struct{}

var errDiskFull = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestJSONLinesFailures(t *testing.T) {
	tests := []struct {
		name    string
		sink    *audit.JSONLines
		record  *audit.Record
		wantIs  error
		wantMsg string
	}{
		{"nil writer", audit.NewJSONLines(nil), &audit.Record{}, nil, "audit: JSONLines has no writer"},
		{"nil record", audit.NewJSONLines(&bytes.Buffer{}), nil, nil, "audit: nil record"},
		{"writer error", audit.NewJSONLines(failingWriter{}), &audit.Record{}, errDiskFull, "audit: write record: disk full"},
		{"unencodable", audit.NewJSONLines(&bytes.Buffer{}), &audit.Record{DurationMS: math.NaN()}, nil, "audit: encode record"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sink.Write(context.Background(), tc.record)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.wantMsg)
			if tc.wantIs != nil {
				require.ErrorIs(t, err, tc.wantIs)
			}
			require.Equal(t, uint64(1), tc.sink.Failures())
		})
	}
	var nilSink *audit.JSONLines
	require.Error(t, nilSink.Write(context.Background(), &audit.Record{}))
	require.Zero(t, nilSink.Failures())
}

func TestJSONLinesIgnoresCanceledContext(t *testing.T) {
	var buf bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, audit.NewJSONLines(&buf).Write(ctx, &audit.Record{Tool: "t", Outcome: audit.StatusDenied}))
	require.Contains(t, buf.String(), `"outcome":"denied"`)
}

func TestSinkFunc(t *testing.T) {
	var got *audit.Record
	var sink audit.Sink = audit.SinkFunc(func(_ context.Context, r *audit.Record) error {
		got = r
		return nil
	})
	r := &audit.Record{Tool: "t"}
	require.NoError(t, sink.Write(context.Background(), r))
	require.Same(t, r, got)

	var nilFunc audit.SinkFunc
	require.EqualError(t, nilFunc.Write(context.Background(), r), "audit: nil SinkFunc")
}

// Records never depend on sampling: with a provider that samples nothing the
// spans are not recorded, yet the call still yields a complete record.
func TestRecordsIndependentOfSampling(t *testing.T) {
	tests := []struct {
		name       string
		tracer     func(t *testing.T) (*audit.Tracer, func() int)
		wantTraces bool
	}{
		{
			name: "never sample",
			tracer: func(t *testing.T) (*audit.Tracer, func() int) {
				tr, rec := newTracer(t, sdktrace.WithSampler(sdktrace.NeverSample()))
				return tr, func() int { return len(rec.Ended()) }
			},
			wantTraces: true, // the SDK still assigns ids to unsampled spans
		},
		{
			name: "noop provider",
			tracer: func(*testing.T) (*audit.Tracer, func() int) {
				return audit.NewTracer(noop.NewTracerProvider()), func() int { return 0 }
			},
			wantTraces: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, recorded := tc.tracer(t)
			ctx, agent := tr.StartAgent(context.Background(), audit.Agent{Name: "a", ConversationID: "c-1"})
			turnCtx, turn := tr.StartTurn(ctx, audit.Turn{Model: "m"})
			turn.Proposed("call_1", "read_file")
			turn.End()
			callCtx, tool := startCall(t, tr, turnCtx, audit.CallStart{Tool: "read_file", CallID: "call_1", Effect: "read"})
			tool.StartDecision(callCtx)
			tool.Decided(audit.Verdict{Allow: true, Code: "allowed"}, false)
			tool.CredentialIssued(audit.Credential{ID: "jti-1", Audience: "urn:ztagent:tool:read_file", TTL: time.Minute})
			tool.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
			agent.End()
			require.Zero(t, recorded(), "nothing sampled")

			r := &audit.Record{
				Time:           time.Unix(1700000000, 0).UTC(),
				ConversationID: audit.ConversationID(callCtx),
				CallID:         "call_1",
				Tool:           "read_file",
				Effect:         "read",
				Allow:          true,
				Code:           "allowed",
				CredentialID:   "jti-1",
				Outcome:        audit.StatusOK,
			}
			if sc := tool.SpanContext(); sc.IsValid() {
				r.TraceID, r.SpanID = sc.TraceID().String(), sc.SpanID().String()
			}
			if sc, ok := audit.ProposedBy(callCtx, "call_1"); ok {
				r.ProposedBySpan = sc.SpanID().String()
			}
			var buf bytes.Buffer
			require.NoError(t, audit.NewJSONLines(&buf).Write(context.Background(), r))

			var back map[string]any
			require.NoError(t, json.Unmarshal(buf.Bytes(), &back))
			require.Equal(t, "call_1", back["call_id"])
			require.Equal(t, "c-1", back["conversation_id"])
			require.Equal(t, true, back["allow"])
			_, hasTrace := back["trace_id"]
			require.Equal(t, tc.wantTraces, hasTrace)
			_, hasProposer := back["proposed_by_span_id"]
			require.Equal(t, tc.wantTraces, hasProposer)
		})
	}
}
