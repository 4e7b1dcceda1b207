// Package jaegertest runs a real Jaeger (the v2 binary) for tests: built from
// the Go module proxy at the version pinned in internal/tools/jaeger, started
// on loopback with OTLP receivers and the query API, traces in memory,
// stopped by PID when the test ends.
package jaegertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ztagent/ztagent/internal/proc"
	"github.com/ztagent/ztagent/internal/toolbuild"
)

var program = toolbuild.Program{Module: "internal/tools/jaeger", Pkg: "github.com/jaegertracing/jaeger/cmd/jaeger", Name: "jaeger"}

var httpClient = proc.NoKeepAliveClient()

// Jaeger is one running instance.
type Jaeger struct {
	OTLPHTTP  string // http://127.0.0.1:<port>, for OTEL_EXPORTER_OTLP_ENDPOINT
	OTLPGRPC  string // 127.0.0.1:<port>
	QueryHTTP string // http://127.0.0.1:<port>, the query API (/api/services, /api/traces)
	proc      *proc.Proc
}

// Start builds (once, cached) and starts Jaeger, and waits until it is
// healthy. Skipped under -short.
func Start(t testing.TB) *Jaeger {
	t.Helper()
	bin := toolbuild.Require(t, program)
	dir := proc.ShortTempDir(t, "jaeger")
	root, err := toolbuild.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := os.ReadFile(filepath.Join(root, "examples", "jaeger", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	j := &Jaeger{}
	j.proc = proc.StartRetrying(t, func() (*proc.Proc, error) { return j.start(t, dir, bin, string(tmpl)) })
	return j
}

// start runs Jaeger on fresh ports and waits until it is healthy.
func (j *Jaeger) start(t testing.TB, dir, bin, conf string) (*proc.Proc, error) {
	ports := map[string]int{}
	for _, k := range []string{"HEALTH", "QUERY_HTTP", "QUERY_GRPC", "OTLP_GRPC", "OTLP_HTTP"} {
		ports[k] = proc.FreePort(t)
	}
	for k, p := range ports {
		conf = strings.ReplaceAll(conf, "@"+k+"@", strconv.Itoa(p))
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	j.OTLPHTTP = fmt.Sprintf("http://127.0.0.1:%d", ports["OTLP_HTTP"])
	j.OTLPGRPC = fmt.Sprintf("127.0.0.1:%d", ports["OTLP_GRPC"])
	j.QueryHTTP = fmt.Sprintf("http://127.0.0.1:%d", ports["QUERY_HTTP"])
	p := proc.Start(t, dir, "jaeger", bin, []string{"--config", cfgPath})
	health := fmt.Sprintf("http://127.0.0.1:%d/status", ports["HEALTH"])
	err := p.WaitFor(2*time.Minute, "jaeger healthy", func() error {
		if err := proc.Dial(strings.TrimPrefix(j.OTLPHTTP, "http://")); err != nil {
			return err
		}
		return proc.GetOK(httpClient, health)
	})
	return p, err
}

// Trace is the query API's view of one trace.
type Trace struct {
	TraceID string `json:"traceID"`
	Spans   []Span `json:"spans"`
}

// Span is the query API's view of one span.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	Tags          []KeyValue  `json:"tags"`
	Logs          []struct {
		Fields []KeyValue `json:"fields"`
	} `json:"logs"`
}

// Reference is a parent (CHILD_OF) or a link (FOLLOWS_FROM).
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// KeyValue is a tag or log field.
type KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Tag returns the value of a span tag as a string.
func (s Span) Tag(key string) (string, bool) {
	for _, kv := range s.Tags {
		if kv.Key == key {
			return fmt.Sprint(kv.Value), true
		}
	}
	return "", false
}

// Traces returns the traces of a service through the query API, waiting until
// at least min are there (export is asynchronous).
func (j *Jaeger) Traces(ctx context.Context, service string, min int) ([]Trace, error) {
	u := j.QueryHTTP + "/api/traces?" + url.Values{"service": {service}, "limit": {"100"}, "lookback": {"1h"}}.Encode()
	var last error
	for {
		traces, err := j.get(ctx, u)
		if err == nil && len(traces) >= min {
			return traces, nil
		}
		last = err
		if last == nil {
			last = fmt.Errorf("%d traces so far", len(traces))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("jaegertest: waiting for %d traces of %s: %w (%v)", min, service, ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (j *Jaeger) get(ctx context.Context, u string) ([]Trace, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("query API: %s", resp.Status)
	}
	var body struct {
		Data []Trace `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	return body.Data, nil
}
