package authz_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

// logService is a decision-log service: it accepts OPA's uploads (a gzip'd
// JSON array of events, POSTed to /logs) and records them.
type logService struct {
	*httptest.Server
	failing atomic.Bool // answer 500 and record nothing

	mu       sync.Mutex
	bodies   [][]byte // decompressed upload bodies
	events   []map[string]any
	requests int
	bad      []string // malformed uploads
}

func newLogService(t *testing.T) *logService {
	s := &logService{}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *logService) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.failing.Load() {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/logs" || r.Header.Get("Content-Encoding") != "gzip" {
		s.bad = append(s.bad, fmt.Sprintf("%s %s encoding=%q", r.Method, r.URL.Path, r.Header.Get("Content-Encoding")))
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	zr, err := gzip.NewReader(r.Body)
	if err == nil {
		var body []byte
		if body, err = io.ReadAll(zr); err == nil {
			var evs []map[string]any
			if err = json.Unmarshal(body, &evs); err == nil {
				s.bodies = append(s.bodies, body)
				s.events = append(s.events, evs...)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	}
	s.bad = append(s.bad, err.Error())
	http.Error(w, err.Error(), http.StatusBadRequest)
}

func (s *logService) snapshot() (events []map[string]any, bodies [][]byte, requests int, bad []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.events...), append([][]byte(nil), s.bodies...), s.requests, append([]string(nil), s.bad...)
}

// secretArg is an argument value that must never reach the log service.
const secretArg = "s3cr3t-token-value-7f1a"

// dlogPolicy allows reads, denies writes, and fails to evaluate for
// "convert", on the secret argument itself: OPA's error message quotes the
// operand, so this also checks that error details are not logged.
const dlogPolicy = `package t

decision := {"allow": true, "reasons": [{"code": "ok", "message": "read"}]} if input.tool.effect == "read"

decision := {"allow": false, "reasons": [{"code": "no_writes", "message": "write"}]} if input.tool.effect == "write"

decision := {"allow": to_number(input.call.args.token) > 0} if input.tool.name == "convert"
`

func dlogInput(name, effect string) *authz.Input {
	in := readInput()
	in.Tool = authz.Tool{Name: name, Effect: effect, Risk: "low"}
	in.Call.Args = json.RawMessage(`{"token":"` + secretArg + `","path":"/srv/docs/a.txt"}`)
	in.Call.ArgsDigest = "sha256:" + name
	return in
}

func newLoggedEngine(t *testing.T, cfg authz.DecisionLogConfig) *authz.Engine {
	t.Helper()
	e, err := authz.New(context.Background(),
		authz.WithModule("t.rego", dlogPolicy),
		authz.WithQuery("data.t.decision"),
		authz.WithTimeout(testTimeout),
		authz.WithDecisionLogs(cfg))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

type dlogCase struct {
	in       *authz.Input
	allow    bool
	code     string // first reason code
	errCode  string // authz error code, "" for none
	decision authz.Decision
}

// decideAll makes one decision per case and checks that logging changed none.
func decideAll(t *testing.T, e *authz.Engine) []dlogCase {
	t.Helper()
	cases := []dlogCase{
		{in: dlogInput("read_file", "read"), allow: true, code: "ok"},
		{in: dlogInput("send_email", "write"), allow: false, code: "no_writes"},
		{in: dlogInput("convert", "external"), allow: false, code: authz.CodeEvalError, errCode: authz.CodeEvalError},
	}
	seen := map[string]bool{}
	for i := range cases {
		c := &cases[i]
		d, err := e.Decide(context.Background(), c.in)
		require.Equal(t, c.errCode, authz.CodeOf(err), "%v", err)
		require.Equal(t, c.allow, d.Allow)
		require.Equal(t, c.code, d.Reasons[0].Code)
		require.Regexp(t, `^[0-9a-f]{32}$`, d.DecisionID)
		require.False(t, seen[d.DecisionID], "decision ids are unique")
		seen[d.DecisionID] = true
		c.decision = d
	}
	return cases
}

// requireLogged checks that the service holds exactly one event per
// decision, with the right content, and no argument value anywhere.
func requireLogged(t *testing.T, s *logService, e *authz.Engine, cases []dlogCase) {
	t.Helper()
	events, bodies, _, bad := s.snapshot()
	require.Empty(t, bad)
	require.Len(t, events, len(cases))
	byID := map[string]map[string]any{}
	for _, ev := range events {
		byID[ev["decision_id"].(string)] = ev
	}
	for _, c := range cases {
		ev, ok := byID[c.decision.DecisionID]
		require.True(t, ok, "no event for decision %s", c.decision.DecisionID)
		require.Equal(t, "t/decision", ev["path"])
		require.Equal(t, e.Revision(), ev["revision"])
		require.Equal(t, c.decision.Revision, ev["revision"])
		result := ev["result"].(map[string]any)
		require.Equal(t, c.allow, result["allow"])
		require.Equal(t, c.code, result["reasons"].([]any)[0].(map[string]any)["code"])
		call := ev["input"].(map[string]any)["call"].(map[string]any)
		require.NotContains(t, call, "args")
		require.Equal(t, c.in.Call.ArgsDigest, call["args_digest"])
		require.Equal(t, c.in.Tool.Name, ev["input"].(map[string]any)["tool"].(map[string]any)["name"])
		require.Equal(t, "data.t.decision", ev["custom"].(map[string]any)["policy_id"])
		if c.errCode == "" {
			require.NotContains(t, ev, "error")
			continue
		}
		logged := ev["error"].(map[string]any)
		require.Equal(t, c.errCode, logged["code"])
		require.Equal(t, "eval_builtin_error", logged["opa_code"])
		require.Contains(t, logged["location"], "t.rego:")
	}
	for _, b := range bodies {
		require.NotContains(t, string(b), secretArg)
	}
}

func TestDecisionLogUploadsEveryDecision(t *testing.T) {
	s := newLogService(t)
	e := newLoggedEngine(t, authz.DecisionLogConfig{URL: s.URL, Labels: map[string]string{"agent": "quickstart"}})

	cases := decideAll(t, e)
	require.NoError(t, e.Close()) // flushes
	require.NoError(t, e.Close(), "idempotent")

	requireLogged(t, s, e, cases)
	events, _, _, _ := s.snapshot()
	labels := events[0]["labels"].(map[string]any)
	require.Equal(t, "quickstart", labels["agent"])
	require.NotEmpty(t, labels["id"])

	st := e.DecisionLogStats()
	require.Equal(t, uint64(len(cases)), st.Logged)
	require.Zero(t, st.Failed)
	require.Zero(t, st.Dropped)
	require.NotZero(t, st.UploadedChunks)
	require.Zero(t, st.PendingBytes)

	// After Close decisions still work; their events are counted as lost.
	d, err := e.Decide(context.Background(), dlogInput("read_file", "read"))
	require.NoError(t, err)
	require.True(t, d.Allow)
	require.Equal(t, uint64(1), e.DecisionLogStats().Failed)
}

func TestDecisionLogServiceDownDoesNotAffectDecisions(t *testing.T) {
	s := newLogService(t)
	s.failing.Store(true)
	e := newLoggedEngine(t, authz.DecisionLogConfig{URL: s.URL, MinDelay: time.Second, MaxDelay: time.Second})

	cases := decideAll(t, e)
	// OPA's periodic upload hits the 500 and keeps the events for a retry.
	require.Eventually(t, func() bool { return e.DecisionLogStats().FailedUploads > 0 }, 20*time.Second, 50*time.Millisecond)
	again := decideAll(t, e) // still deciding, unchanged, while uploads fail
	_, _, requests, _ := s.snapshot()
	require.NotZero(t, requests)

	s.failing.Store(false) // the service recovers: nothing was lost
	require.NoError(t, e.Close())
	requireLogged(t, s, e, append(cases, again...))
	require.Equal(t, uint64(2*len(cases)), e.DecisionLogStats().Logged)
}

// Decisions refused before evaluation (no input, an input that cannot be
// encoded, a caller that already gave up) are shipped too, without an input.
func TestDecisionLogRefusedDecisions(t *testing.T) {
	s := newLogService(t)
	e := newLoggedEngine(t, authz.DecisionLogConfig{URL: s.URL})

	bad := dlogInput("read_file", "read")
	bad.Call.Args = json.RawMessage(`{"token":"` + secretArg + `"`)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	refusals := []struct {
		ctx  context.Context
		in   *authz.Input
		code string
	}{
		{context.Background(), nil, authz.CodeNilInput},
		{context.Background(), bad, authz.CodeBadInput},
		{canceled, dlogInput("read_file", "read"), authz.CodeCanceled},
	}
	codes := map[string]string{} // decision id -> code
	for _, r := range refusals {
		d, err := e.Decide(r.ctx, r.in)
		require.Equal(t, r.code, authz.CodeOf(err))
		require.False(t, d.Allow)
		require.Regexp(t, `^[0-9a-f]{32}$`, d.DecisionID)
		codes[d.DecisionID] = r.code
	}
	require.NoError(t, e.Close()) // flushes

	events, bodies, _, malformed := s.snapshot()
	require.Empty(t, malformed)
	require.Len(t, events, len(refusals))
	for _, ev := range events {
		code, ok := codes[ev["decision_id"].(string)]
		require.True(t, ok, "an event for a decision not made: %v", ev)
		require.Equal(t, e.Revision(), ev["revision"])
		require.NotContains(t, ev, "input")
		require.Equal(t, code, ev["error"].(map[string]any)["code"])
		result := ev["result"].(map[string]any)
		require.Equal(t, false, result["allow"])
		require.Equal(t, code, result["reasons"].([]any)[0].(map[string]any)["code"])
	}
	for _, b := range bodies {
		require.NotContains(t, string(b), secretArg)
	}
	require.Equal(t, uint64(len(refusals)), e.DecisionLogStats().Logged)
}

func TestDecisionLogBadConfig(t *testing.T) {
	for name, cfg := range map[string]authz.DecisionLogConfig{
		"empty URL":          {},
		"not http":           {URL: "ftp://logs.example.com"},
		"no host":            {URL: "http://"},
		"credentials in URL": {URL: "https://user:pw@logs.example.com"},
		"query in URL":       {URL: "https://logs.example.com/?x=1"},
		"sub-second delay":   {URL: "https://logs.example.com", MinDelay: 500 * time.Millisecond, MaxDelay: time.Second},
		"fractional delay":   {URL: "https://logs.example.com", MinDelay: 1500 * time.Millisecond, MaxDelay: 2 * time.Second},
		"max below min":      {URL: "https://logs.example.com", MinDelay: 10 * time.Second, MaxDelay: 5 * time.Second},
		"negative buffer":    {URL: "https://logs.example.com", BufferSizeLimitBytes: -1},
		"negative flush":     {URL: "https://logs.example.com", FlushTimeout: -time.Second},
		"root resource":      {URL: "https://logs.example.com", Resource: "/"},
	} {
		t.Run(name, func(t *testing.T) {
			e, err := authz.New(context.Background(), authz.WithTimeout(testTimeout), authz.WithDecisionLogs(cfg))
			require.ErrorContains(t, err, "authz: decision logs:")
			require.Nil(t, e)
		})
	}
}

// New fails after the logger is configured: nothing may be left running
// (TestMain checks for leaked goroutines).
func TestDecisionLogNewFailsOnBadPolicy(t *testing.T) {
	s := newLogService(t)
	e, err := authz.New(context.Background(),
		authz.WithModule("bad.rego", "package t\n\ndecision := {"),
		authz.WithQuery("data.t.decision"),
		authz.WithTimeout(testTimeout),
		authz.WithDecisionLogs(authz.DecisionLogConfig{URL: s.URL}))
	require.Error(t, err)
	require.Nil(t, e)
}

func TestDecisionLogCustomResourceAndClient(t *testing.T) {
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/decisions" && r.Header.Get("X-Test") == "yes" {
			got.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	client := &http.Client{Transport: headerTransport{http.DefaultTransport.(*http.Transport).Clone()}}
	defer client.CloseIdleConnections()

	e := newLoggedEngine(t, authz.DecisionLogConfig{URL: srv.URL, Resource: "v1/decisions", Client: client})
	_, err := e.Decide(context.Background(), dlogInput("read_file", "read"))
	require.NoError(t, err)
	require.NoError(t, e.Close())
	require.Equal(t, int32(1), got.Load())
}

type headerTransport struct{ base *http.Transport }

func (h headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Test", "yes")
	return h.base.RoundTrip(r)
}

func (h headerTransport) CloseIdleConnections() { h.base.CloseIdleConnections() }

func TestDecisionLogOff(t *testing.T) {
	e, err := authz.New(context.Background(), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	d, _ := e.Decide(context.Background(), readInput())
	require.Empty(t, d.DecisionID)
	require.Equal(t, authz.DecisionLogStats{}, e.DecisionLogStats())
	require.NoError(t, e.Close())
}

func ExampleWithDecisionLogs() {
	var events atomic.Int32
	logs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zr, _ := gzip.NewReader(r.Body)
		body, _ := io.ReadAll(zr)
		var batch []map[string]any
		_ = json.Unmarshal(body, &batch)
		events.Add(int32(len(batch)))
		fmt.Println("argument values logged:", bytes.Contains(body, []byte("hunter2")))
	}))
	defer logs.Close()

	engine, err := authz.New(context.Background(),
		authz.WithDataJSON([]byte(quickstartData)),
		authz.WithTimeout(testTimeout),
		authz.WithDecisionLogs(authz.DecisionLogConfig{URL: logs.URL}))
	if err != nil {
		fmt.Println(err)
		return
	}
	in := readInput()
	in.Call.Args = json.RawMessage(`{"path":"/srv/docs/a.txt","api_key":"hunter2"}`)
	d, _ := engine.Decide(context.Background(), in)
	fmt.Println("allow:", d.Allow, "decision id:", len(d.DecisionID) == 32)
	_ = engine.Close() // uploads what is buffered
	fmt.Println("events:", events.Load())
	// Output:
	// allow: true decision id: true
	// argument values logged: false
	// events: 1
}
