package toolguard_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/toolguard"
)

// A tool backend in another process joins the caller's trace: the egress
// transport sends the execute_tool span's W3C traceparent.
func TestTransportPropagatesTraceContext(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("traceparent")
	}))
	defer srv.Close()
	client := &http.Client{Transport: toolguard.Transport(srv.Client().Transport)}
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
