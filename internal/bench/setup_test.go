package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ztagent/ztagent/audit"
	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/identity"
	"github.com/ztagent/ztagent/toolguard"
)

const agentID = "spiffe://ztagent.dev/agent/bench"

var policyData = []byte(`{
  "agents": {"` + agentID + `": {"tools": ["fetch_doc"], "hosts": ["docs.example.com"]}},
  "tools": {"fetch_doc": {"scopes": ["docs:read"]}},
  "credential_ttl_seconds": 60
}`)

// benchPolicy is the embedded default policy with one change: the
// credential may be shared by the calls of a task (credential.reuse =
// "task"), which is what makes a hot path without signing possible. The
// default policy does not grant reuse; a deployment that wants it says so
// in its policy, as here.
func benchPolicy() (map[string]string, error) {
	mods := authz.DefaultPolicy()
	const anchor = `"ttl_seconds": credential_ttl_seconds,`
	src, ok := mods["policy/credential.rego"]
	if !ok || !strings.Contains(src, anchor) {
		return nil, errors.New("bench: policy/credential.rego changed; update benchPolicy")
	}
	mods["policy/credential.rego"] = strings.Replace(src, anchor, anchor+"\n\t\"reuse\": \"task\",", 1)
	return mods, nil
}

type FetchArgs struct {
	URL string `json:"url"`
}

var fetchTool = toolguard.Tool{Name: "fetch_doc", Effect: toolguard.Read, Destinations: []toolguard.Dest{toolguard.URLArg("url")}}

func fetch(_ context.Context, a FetchArgs) (int, error) { return len(a.URL), nil }

// discardExporter drops finished spans: the span is built, ended and handed
// to the batch processor, and only the network is left out.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// countingSink encodes every record as a JSON line to io.Discard and counts
// them, so dropped records would show.
type countingSink struct {
	j       *audit.JSONLines
	written atomic.Uint64
}

func (s *countingSink) Write(ctx context.Context, r *audit.Record) error {
	if err := s.j.Write(ctx, r); err != nil {
		return err
	}
	s.written.Add(1)
	return nil
}

// rig is everything the variants share.
type rig struct {
	guard  *toolguard.Guard
	call   func(context.Context, FetchArgs) (int, error)
	task   *toolguard.Task
	taskCx context.Context
	sink   *countingSink
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer

	// the same decision, in the forms the comparisons need
	input     *authz.Input
	inputJSON []byte
	inputAST  ast.Value
	prepared  rego.PreparedEvalQuery
	modules   map[string]string

	// the execute_tool span and the decision record of a guarded call, for
	// the one-span baseline and the span-and-record bound
	spanName  string
	spanAttrs []attribute.KeyValue
	spanStart int // how many of spanAttrs the span started with
	calls     *audit.CallRecorder
	identity  audit.Identity
	record    audit.Record
	records   *audit.JSONLines
}

// recordCapture keeps the last record written through it.
type recordCapture struct{ last audit.Record }

func (c *recordCapture) Write(_ context.Context, r *audit.Record) error {
	c.last = *r
	return nil
}

func newRig(tb testing.TB) *rig {
	tb.Helper()
	ctx := context.Background()
	mods, err := benchPolicy()
	must(tb, err)
	r := &rig{modules: mods, sink: &countingSink{j: audit.NewJSONLines(io.Discard)}, records: audit.NewJSONLines(io.Discard)}

	eng, err := authz.New(ctx, modulesOpts(mods, authz.WithDataJSON(policyData), authz.WithDecisionCache(1<<16),
		// The deadline is not what is measured; on a shared 2-core machine a GC
		// pause under load can pass the 500ms default.
		authz.WithTimeout(10*time.Second))...)
	must(tb, err)
	tb.Cleanup(func() { _ = eng.Close() })
	id, err := identity.NewDevSource(ctx, identity.WithWorkloadPath("/agent/bench"))
	must(tb, err)
	tb.Cleanup(func() { _ = id.Close() })
	minter, err := creds.NewMinter()
	must(tb, err)
	r.tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
	tb.Cleanup(func() { _ = r.tp.Shutdown(context.Background()) })
	r.tracer = r.tp.Tracer("bench")

	// Calls through a recording guard capture the input the policy sees, and
	// the span and record the guard makes on the hot path (the third call
	// of a task with the same arguments: the cache stores a decision at its
	// second miss), so the baselines use exactly them.
	capture := &captureDecider{Engine: eng}
	rec := &startRecorder{SpanRecorder: tracetest.NewSpanRecorder()}
	recTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	records := &recordCapture{}
	probe, err := toolguard.New(ctx, toolguard.WithIdentity(id), toolguard.WithCredentialIssuer(minter), toolguard.WithDecider(capture),
		toolguard.WithTracerProvider(recTP), toolguard.WithSink(records))
	must(tb, err)
	pcall, err := toolguard.Wrap(probe, fetchTool, fetch)
	must(tb, err)
	ptask := &toolguard.Task{ID: "t-probe", Purpose: "read the docs", Scopes: []string{"docs:read"}}
	for range 3 {
		_, err = pcall(toolguard.WithTask(ctx, ptask), FetchArgs{URL: "https://docs.example.com/guide"})
		must(tb, err)
	}
	must(tb, ptask.End(ctx))
	must(tb, probe.Close(ctx))
	must(tb, recTP.Shutdown(ctx))
	r.input, r.record = capture.in, records.last
	if !r.record.Cached {
		tb.Fatal("bench: the probe's third call was not served by the decision cache")
	}
	for _, s := range rec.Ended() {
		if strings.HasPrefix(s.Name(), "execute_tool") {
			r.spanName, r.spanAttrs = s.Name(), s.Attributes()
		}
	}
	r.spanStart = rec.attrs
	r.calls, err = audit.NewCallRecorder(audit.NewTracer(r.tp), r.records)
	must(tb, err)
	r.identity = audit.Identity{SPIFFEID: r.record.Subject, Serial: r.record.SVIDSerial, NotAfter: time.Now().Add(time.Hour)}
	if r.spanName == "" || capture.in == nil {
		tb.Fatal("bench: the probe call made no execute_tool span or no decision")
	}
	r.inputJSON, err = json.Marshal(r.input)
	must(tb, err)
	r.inputAST, err = ast.ValueFromReader(bytes.NewReader(r.inputJSON))
	must(tb, err)

	var data map[string]any
	must(tb, util.UnmarshalJSON(policyData, &data))
	ropts := []func(*rego.Rego){rego.Query(authz.DefaultQuery), rego.Store(inmem.NewFromObject(data)), rego.SetRegoVersion(ast.RegoV1)}
	for name, src := range mods {
		ropts = append(ropts, rego.Module(name, src))
	}
	r.prepared, err = rego.New(ropts...).PrepareForEval(ctx)
	must(tb, err)

	r.guard, err = toolguard.New(ctx, toolguard.WithIdentity(id), toolguard.WithCredentialIssuer(minter), toolguard.WithDecider(eng),
		toolguard.WithTracerProvider(r.tp), toolguard.WithSink(r.sink))
	must(tb, err)
	tb.Cleanup(func() { _ = r.guard.Close(context.Background()) })
	r.call, err = toolguard.Wrap(r.guard, fetchTool, fetch)
	must(tb, err)
	r.task = &toolguard.Task{ID: "t-bench", Purpose: "read the docs", Scopes: []string{"docs:read"}}
	r.taskCx = toolguard.WithTask(ctx, r.task)
	tb.Cleanup(func() { _ = r.task.End(context.Background()) })
	return r
}

func modulesOpts(mods map[string]string, opts ...authz.Option) []authz.Option {
	for name, src := range mods {
		opts = append(opts, authz.WithModule(name, src))
	}
	return opts
}

// startRecorder also notes how many attributes the last execute_tool span
// started with.
type startRecorder struct {
	*tracetest.SpanRecorder
	attrs int
}

func (s *startRecorder) OnStart(ctx context.Context, span sdktrace.ReadWriteSpan) {
	if strings.HasPrefix(span.Name(), "execute_tool") {
		s.attrs = len(span.Attributes())
	}
	s.SpanRecorder.OnStart(ctx, span)
}

// captureDecider keeps the input of the last evaluation; its cache
// lookups go to the engine, so the guard's hot path is the real one.
type captureDecider struct {
	*authz.Engine
	in *authz.Input
}

func (c *captureDecider) Decide(ctx context.Context, in *authz.Input) (authz.Decision, error) {
	cp := *in
	c.in = &cp
	return c.Engine.Decide(ctx, in)
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// The variants. Each does one call and reports an error if it did not get
// the answer it should (an allow), so a broken setup cannot look fast.

var floorSink int

func (r *rig) floor(i int) error {
	n, err := fetch(context.Background(), FetchArgs{URL: "https://docs.example.com/guide"})
	floorSink += n
	return err
}

func (r *rig) opaEval(int) error {
	rs, err := r.prepared.Eval(context.Background(), rego.EvalParsedInput(r.inputAST))
	if err != nil {
		return err
	}
	if len(rs) != 1 {
		return errors.New("undefined")
	}
	if d, _ := rs[0].Expressions[0].Value.(map[string]any); d["allow"] != true {
		return fmt.Errorf("denied: %v", d["reasons"])
	}
	return nil
}

// missURL is a different URL per call, so the decision key never repeats.
func missURL(i int) FetchArgs {
	return FetchArgs{URL: "https://docs.example.com/guide/" + strconv.Itoa(i)}
}

// guardMiss: decision evaluated, identity cached, credential shared by the task.
func (r *rig) guardMiss(i int) error {
	_, err := r.call(r.taskCx, missURL(i))
	return err
}

// guardMissMint: decision evaluated and a credential signed and revoked for
// the call (no task: nothing to share it with).
func (r *rig) guardMissMint(i int) error {
	_, err := r.call(context.Background(), missURL(i))
	return err
}

// guardHot: identity, credential and decision all reused.
func (r *rig) guardHot(int) error {
	_, err := r.call(r.taskCx, FetchArgs{URL: "https://docs.example.com/guide"})
	return err
}

// span: one SDK span with the attributes of the guard's execute_tool span.
func (r *rig) span(int) error {
	_, s := r.tracer.Start(context.Background(), r.spanName, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(r.spanAttrs...))
	s.End()
	return nil
}

// spanLate: the span above, with the attributes the guard's hot path learns
// during the call (those after the start attributes) set in one
// SetAttributes before End, as audit.ToolSpan sets them: what learning them
// late costs, against span.
func (r *rig) spanLate(int) error {
	_, s := r.tracer.Start(context.Background(), r.spanName, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(r.spanAttrs[:r.spanStart]...))
	s.SetAttributes(r.spanAttrs[r.spanStart:]...)
	s.End()
	return nil
}

// toolSpan: the guard's own action path on the hot path, through the audit
// package alone (audit.Call: the execute_tool span and the decision record,
// with the cached verdict and the reused credential), with the values of the
// captured record, the record written as a JSON line to io.Discard.
func (r *rig) toolSpan(int) error {
	rec := &r.record
	ctx := context.Background()
	_, c := r.calls.Start(ctx, audit.CallStart{
		Tool: rec.Tool, CallID: rec.CallID, Effect: rec.Effect, Risk: rec.Risk, ArgsDigest: rec.ArgsDigest,
		Identity: &r.identity,
	})
	c.Destinations(rec.Destinations)
	c.Decided(audit.Verdict{Allow: rec.Allow, Code: rec.Code, PolicyID: rec.PolicyID, PolicyRevision: rec.PolicyRevision}, true)
	c.CredentialIssued(audit.Credential{ID: rec.CredentialID, Audience: rec.CredentialAudience, Reused: true})
	return c.End(ctx, audit.Outcome{Status: audit.StatusOK})
}

// spanRecord: the span above and the guarded call's decision record, as a
// JSON line to io.Discard: the least any call does that the guard both
// traces and audits, with no identity, decision or credential.
func (r *rig) spanRecord(i int) error {
	_ = r.span(i)
	return r.records.Write(context.Background(), &r.record)
}
