package toolguard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/toolguard"
	"github.com/ztagent/ztagent/toolguard/egress"
)

// A tool backend in another process joins the caller's trace: the egress
// transport sends the execute_tool span's W3C traceparent.
func TestTransportPropagatesTraceContext(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("traceparent")
	}))
	defer srv.Close()
	client := &http.Client{Transport: egress.Transport(srv.Client().Transport)}
	f := newFixture(t, toolguard.WithDecider(grantingDecider(false, "127.0.0.1")))
	fetch, err := toolguard.Wrap(f.guard, toolguard.Tool{Name: "fetch", Effect: toolguard.Read}, func(ctx context.Context, _ DocArgs) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			return "", err
		}
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		require.Empty(t, req.Header.Get("traceparent"), "the caller's request is not modified")
		return "", nil
	})
	require.NoError(t, err)
	_, err = fetch(context.Background(), DocArgs{})
	require.NoError(t, err)
	var toolSpan string
	for _, s := range f.spans.Ended() {
		if s.Name() == "execute_tool fetch" {
			toolSpan = s.SpanContext().TraceID().String()
		}
	}
	require.NotEmpty(t, toolSpan)
	require.True(t, strings.Contains(got, toolSpan), "traceparent %q does not carry trace %s", got, toolSpan)
}

func TestGuardEnrichesFrameworkToolSpan(t *testing.T) {
	f := newFixture(t, toolguard.WithEnrichFrameworkSpans())
	fetch := wrap(t, f.guard, fetchTool, (&probe{}).fn)
	ctx, framework := f.tp.Tracer("agent-sdk").Start(context.Background(), "execute_tool fetch")
	_, err := fetch(ctx, DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	framework.End()
	var n int
	for _, s := range f.spans.Ended() {
		if s.Name() == "execute_tool fetch" {
			n++
			require.Equal(t, "agent-sdk", s.InstrumentationScope().Name)
		}
	}
	require.Equal(t, 1, n)
}

// One trace whatever the wiring: a turn started on the guard's tracer is the
// parent of the calls it proposes and their proposed_by link; one started on
// the global provider (which records nothing here) leaves the calls
// unlinked, and the guard says so on the span and in its Stats instead of
// silently.
func TestTurnAndGuardShareOneTrace(t *testing.T) {
	f := newFixture(t)
	fetch := wrap(t, f.guard, fetchTool, (&probe{}).fn)
	actx, agent := f.guard.StartAgent(context.Background(), audit.Agent{Name: "support"})
	ctx, turn := f.guard.StartTurn(actx, audit.Turn{Model: "m", Number: 1})
	turn.Proposed("call_1", "fetch")
	_, err := fetch(toolguard.WithCall(ctx, "call_1"), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	turn.End()
	agent.End()
	chat, tool := spanNamed(t, f, "chat m"), spanNamed(t, f, "execute_tool fetch")
	require.Equal(t, spanNamed(t, f, "invoke_agent support").SpanContext().SpanID(), tool.Parent().SpanID())
	require.Equal(t, chat.SpanContext().TraceID(), tool.SpanContext().TraceID())
	require.Len(t, tool.Links(), 1)
	require.Equal(t, chat.SpanContext(), tool.Links()[0].SpanContext)
	require.Equal(t, chat.SpanContext().SpanID().String(), f.sink.last(t).ProposedBySpan)
	require.Zero(t, f.guard.Stats().UnlinkedCalls)

	ctx, lost := audit.StartTurn(context.Background(), audit.Turn{Model: "global", Number: 2}) // no global provider set
	lost.Proposed("call_2", "fetch")
	_, err = fetch(toolguard.WithCall(ctx, "call_2"), DocArgs{URL: "https://docs.example.com/"})
	require.NoError(t, err)
	require.EqualValues(t, 1, f.guard.Stats().UnlinkedCalls)
	var unlinked sdktrace.ReadOnlySpan
	for _, s := range f.spans.Ended() {
		if s.Name() == "execute_tool fetch" && len(s.Links()) == 0 {
			unlinked = s
		}
	}
	require.NotNil(t, unlinked)
	require.Contains(t, unlinked.Attributes(), attribute.String("ztagent.link.missing", "turn_not_recorded"))
}

func spanNamed(t *testing.T, f *fixture, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range f.spans.Ended() {
		if s.Name() == name {
			return s
		}
	}
	require.Failf(t, "no span", "%q", name)
	return nil
}
