package authz

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/logging"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/plugins/logs"
	"github.com/open-policy-agent/opa/v1/server"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
	"go.opentelemetry.io/otel/trace"
)

// Decision-log defaults. The delays are those of OPA's decision-log plugin.
const (
	DefaultDecisionLogResource     = "/logs"
	DefaultDecisionLogMinDelay     = 300 * time.Second
	DefaultDecisionLogMaxDelay     = 600 * time.Second
	DefaultDecisionLogBufferBytes  = 16 << 20
	DefaultDecisionLogFlushTimeout = 5 * time.Second
)

// DecisionLogConfig says where OPA's decision-log plugin uploads the
// decisions of the engine.
type DecisionLogConfig struct {
	// URL is the decision-log service base URL, e.g. "https://logs.example.com"
	// (http or https, no credentials in it). Events are POSTed to URL +
	// Resource as gzip-compressed JSON arrays, exactly as OPA uploads them.
	URL string
	// Resource is the path under URL. Default "/logs".
	Resource string
	// MinDelay and MaxDelay bound the jittered wait between two uploads, in
	// whole seconds (OPA's unit). Defaults 300s and 600s, as OPA's. A failed
	// upload is retried with an exponential backoff capped at MaxDelay.
	MinDelay, MaxDelay time.Duration
	// BufferSizeLimitBytes bounds the compressed events waiting for upload.
	// When it is reached OPA drops the oldest chunk and counts it
	// (DecisionLogStats.Dropped). Default 16 MiB; it cannot be unlimited, so
	// a log service that is down cannot exhaust the agent's memory.
	BufferSizeLimitBytes int64
	// FlushTimeout bounds how long Engine.Close spends uploading what is
	// still buffered. Default 5s. What is left is lost and shows in
	// DecisionLogStats.PendingBytes.
	FlushTimeout time.Duration
	// Labels are added to every event (OPA adds "id" and "version").
	Labels map[string]string
	// Client, if set, makes the requests (for a custom transport: mTLS, a
	// proxy, auth headers). By default OPA's REST client builds its own.
	Client *http.Client
}

// WithDecisionLogs ships every decision to a decision-log service through
// OPA's decision-log plugin. Argument values never leave the process: the
// logged input carries call.args_digest, not call.args. Decide never waits
// for the network; loss is counted in Engine.DecisionLogStats. New fails on
// a configuration the plugin would reject. Close flushes what is buffered,
// for at most FlushTimeout.
func WithDecisionLogs(cfg DecisionLogConfig) Option {
	cfg.Labels = maps.Clone(cfg.Labels)
	return optionFunc(func(c *config) { c.logs = &cfg })
}

// DecisionLogStats counts what happened to decision-log events. Logged
// minus what OPA dropped or still holds is what reached the service.
type DecisionLogStats struct {
	Logged uint64 // decisions handed to OPA's decision-log plugin
	Failed uint64 // decisions not logged: the event could not be built, the plugin refused it, or the engine was closed
	// The counters below are OPA's own (its plugin metrics).
	Dropped        uint64 // times OPA dropped buffered chunks (buffer full) or an event it could not encode
	UploadedChunks uint64 // chunks (gzip'd batches) the service accepted
	FailedUploads  uint64 // chunk uploads that failed; OPA keeps the chunk and retries
	PendingBytes   int64  // compressed bytes waiting for upload; after Close, what was lost
}

// DecisionLogStats returns a snapshot of the decision-log counters; zero
// when decision logs are off.
func (e *Engine) DecisionLogStats() DecisionLogStats {
	if e == nil {
		return DecisionLogStats{}
	}
	if e.dlog == nil {
		return DecisionLogStats{}
	}
	return e.dlog.stats()
}

// Names of the counters OPA's decision-log plugin keeps (plugins/logs).
const (
	opaDropBufferFull  = "decision_logs_dropped_buffer_size_limit_bytes_exceeded"
	opaDropEncoding    = "decision_logs_encoding_failure"
	opaChunksUploaded  = "decision_logs_chunks_uploaded"
	opaChunksUploadErr = "decision_logs_chunks_upload_failed"
)

// Names under which the decision logger's pieces are known to OPA's manager.
const (
	dlogService    = "ztagent-authz-decision-logs"
	dlogHTTPPlugin = "ztagent-authz-decision-logs-http"
)

// stopGrace is how long stop waits beyond FlushTimeout for the plugin to
// wind down: an upload already in flight runs under OPA's own HTTP timeouts,
// not under our context.
const stopGrace = 2 * time.Second

// opaDecisionLogger hands decisions to OPA's decision-log plugin, which
// buffers, batches, compresses, uploads and retries them. The manager exists
// only to host that plugin: no bundles, no status, an empty store.
//
// The configuration is checked at New, but the manager and plugin start
// with the first decision: New has failure paths after the logger is built
// (a policy that does not compile), and nothing may be left running then.
type opaDecisionLogger struct {
	now     func() time.Time  // the engine's clock: stamps each event
	cfg     DecisionLogConfig // resolved
	logs    *logs.Config      // parsed and checked by OPA at New
	metrics metrics.Metrics
	http    *dlogHTTP

	// mu orders log against stop: once stop holds it, no event can slip into
	// a buffer that will never be uploaded again, and nothing starts.
	mu       sync.RWMutex
	stopped  bool
	started  sync.Once
	startErr error
	manager  *plugins.Manager
	plugin   atomic.Pointer[logs.Plugin]

	logged, failed atomic.Uint64
}

func (cfg DecisionLogConfig) resolve() (DecisionLogConfig, error) {
	if cfg.Resource == "" {
		cfg.Resource = DefaultDecisionLogResource
	}
	switch {
	case cfg.MinDelay == 0 && cfg.MaxDelay == 0:
		cfg.MinDelay, cfg.MaxDelay = DefaultDecisionLogMinDelay, DefaultDecisionLogMaxDelay
	case cfg.MinDelay == 0:
		cfg.MinDelay = min(DefaultDecisionLogMinDelay, cfg.MaxDelay)
	case cfg.MaxDelay == 0:
		cfg.MaxDelay = max(DefaultDecisionLogMaxDelay, cfg.MinDelay)
	}
	if cfg.BufferSizeLimitBytes == 0 {
		cfg.BufferSizeLimitBytes = DefaultDecisionLogBufferBytes
	}
	if cfg.FlushTimeout == 0 {
		cfg.FlushTimeout = DefaultDecisionLogFlushTimeout
	}
	if err := cfg.check(); err != nil {
		return cfg, fmt.Errorf("authz: decision logs: %w", err)
	}
	return cfg, nil
}

func (cfg DecisionLogConfig) check() error {
	if err := checkServiceURL(cfg.URL); err != nil {
		return err
	}
	switch {
	case strings.Trim(cfg.Resource, "/") == "":
		return fmt.Errorf("Resource %q names no path", cfg.Resource)
	case cfg.MinDelay < time.Second || cfg.MaxDelay < time.Second:
		// OPA counts delays in whole seconds; zero would upload in a busy loop.
		return fmt.Errorf("upload delays must be at least 1s, got %s and %s", cfg.MinDelay, cfg.MaxDelay)
	case cfg.MinDelay%time.Second != 0 || cfg.MaxDelay%time.Second != 0:
		return fmt.Errorf("upload delays must be whole seconds, got %s and %s", cfg.MinDelay, cfg.MaxDelay)
	case cfg.MaxDelay < cfg.MinDelay:
		return fmt.Errorf("MaxDelay %s is shorter than MinDelay %s", cfg.MaxDelay, cfg.MinDelay)
	case cfg.BufferSizeLimitBytes < 0:
		return fmt.Errorf("BufferSizeLimitBytes must be > 0, got %d", cfg.BufferSizeLimitBytes)
	case cfg.FlushTimeout < 0:
		return fmt.Errorf("FlushTimeout must be > 0, got %s", cfg.FlushTimeout)
	}
	return nil
}

// newDecisionLogger checks cfg the way OPA's runtime checks its config
// file, so a configuration the plugin would reject fails New.
func newDecisionLogger(cfg DecisionLogConfig, now func() time.Time) (*opaDecisionLogger, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	trigger := plugins.TriggerPeriodic
	logsConf, err := json.Marshal(map[string]any{
		"service":  dlogService,
		"resource": cfg.Resource,
		"reporting": map[string]any{
			"min_delay_seconds":       int64(cfg.MinDelay / time.Second),
			"max_delay_seconds":       int64(cfg.MaxDelay / time.Second),
			"buffer_size_limit_bytes": cfg.BufferSizeLimitBytes,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("authz: decision logs: %w", err)
	}
	parsed, err := logs.NewConfigBuilder().
		WithBytes(logsConf).
		WithServices([]string{dlogService}).
		WithTriggerMode(&trigger).
		WithLogger(logging.NewNoOpLogger()).
		Parse()
	if err != nil {
		return nil, fmt.Errorf("authz: decision logs: %w", err)
	}
	return &opaDecisionLogger{
		now:     now,
		cfg:     cfg,
		logs:    parsed,
		metrics: metrics.New(),
		http:    &dlogHTTP{bundleHTTP{user: cfg.Client}},
	}, nil
}

// start builds OPA's plugin manager with one service and the decision-log
// plugin, as OPA's runtime would from its config file, and starts it.
// Nothing is left running on error.
func (l *opaDecisionLogger) start() error {
	managerConf, err := json.Marshal(map[string]any{
		"labels": l.cfg.Labels,
		"services": map[string]any{dlogService: map[string]any{
			"url":         l.cfg.URL,
			"credentials": map[string]any{"plugin": dlogHTTPPlugin},
		}},
	})
	if err != nil {
		return err
	}
	quiet := logging.NewNoOpLogger() // loss is counted, not written to the global log
	m, err := plugins.New(managerConf, newDecisionID(), inmem.New(),
		plugins.Logger(quiet), plugins.ConsoleLogger(quiet))
	if err != nil {
		return err
	}
	m.Register(dlogHTTPPlugin, l.http)
	p := logs.New(l.logs, m).WithMetrics(l.metrics)
	m.Register(logs.Name, p)
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.FlushTimeout)
	defer cancel()
	if err := m.Start(ctx); err != nil {
		m.Stop(ctx)
		l.http.closeIdle()
		return err
	}
	l.manager = m
	l.plugin.Store(p)
	return nil
}

// log builds OPA's record of one decision and hands it to the plugin, which
// only buffers it: uploads happen on the plugin's own goroutine, so log never
// blocks on the network. input is nil for a decision refused before the
// input was built (Engine.refuse).
func (l *opaDecisionLogger) log(ctx context.Context, p *compiled, input ast.Value, d *Decision, derr *Error) {
	d.DecisionID = newDecisionID()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.stopped {
		l.failed.Add(1)
		return
	}
	l.started.Do(func() { l.startErr = l.start() })
	if l.startErr != nil {
		l.failed.Add(1)
		return
	}
	info, err := l.info(ctx, p, input, d, derr)
	if err != nil {
		l.failed.Add(1)
		return
	}
	// The decision's deadline must not cut the plugin's mask and drop
	// evaluation short: a timed-out decision is logged like any other.
	if err := l.plugin.Load().Log(context.WithoutCancel(ctx), info); err != nil {
		l.failed.Add(1)
		return
	}
	l.logged.Add(1)
}

func (l *opaDecisionLogger) info(ctx context.Context, p *compiled, input ast.Value, d *Decision, derr *Error) (*server.Info, error) {
	info := &server.Info{
		DecisionID: d.DecisionID,
		Revision:   p.revision,
		Timestamp:  l.now().UTC(),
		Custom:     map[string]any{"policy_id": p.id, "policy_source": p.source},
	}
	if path, ok := queryPath(p.id); ok {
		info.Path = path
	} else {
		info.Query = p.id
	}
	if name, ok := strings.CutPrefix(p.source, "bundle:"); ok {
		name, _, _ = strings.Cut(name, "@")
		info.Bundles = map[string]server.BundleInfo{name: {Revision: p.revision}}
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		info.TraceID, info.SpanID = sc.TraceID().String(), sc.SpanID().String()
	}
	if input != nil {
		redacted := redactInput(input)
		v, err := ast.JSON(redacted)
		if err != nil {
			return nil, err
		}
		info.Input, info.InputAST = &v, redacted
	}
	var result any = *d
	info.Results = &result
	if derr != nil {
		info.Error = newLoggedError(derr)
	}
	if sh := d.Shadow; sh != nil {
		info.Custom["shadow"] = map[string]any{"revision": sh.Revision, "allow": sh.Allow, "code": sh.Code, "flip": sh.Flip}
	}
	return info, nil
}

// redactInput is the input as logged: call.args is removed, because
// argument values may be secrets; call.args_digest still identifies them.
// A call that is not an object is removed whole.
func redactInput(v ast.Value) ast.Value {
	obj, ok := v.(ast.Object)
	if !ok {
		return ast.NewObject()
	}
	callKey, argsKey := ast.InternedTerm("call"), ast.InternedTerm("args")
	out := ast.NewObject()
	obj.Foreach(func(k, t *ast.Term) {
		if !k.Equal(callKey) {
			out.Insert(k, t)
			return
		}
		call, ok := t.Value.(ast.Object)
		if !ok {
			return
		}
		c := ast.NewObject()
		call.Foreach(func(ck, ct *ast.Term) {
			if !ck.Equal(argsKey) {
				c.Insert(ck, ct)
			}
		})
		out.Insert(k, ast.NewTerm(c))
	})
	return out
}

// loggedError is the error of a failed decision as it is logged: the
// stable code, the fixed message, and where in the policy OPA failed. Not
// the detail: OPA's builtin errors quote their operands, which can be
// argument values.
type loggedError struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	OPACode  string `json:"opa_code,omitempty"`
	Location string `json:"location,omitempty"`
}

func newLoggedError(e *Error) loggedError {
	le := loggedError{Code: e.Code, Message: failureMessage(e.Code)}
	var te *topdown.Error
	if errors.As(e.Err, &te) {
		le.OPACode = te.Code
		if loc := te.Location; loc != nil {
			le.Location = fmt.Sprintf("%s:%d:%d", loc.File, loc.Row, loc.Col)
		}
	}
	return le
}

func (e loggedError) Error() string { return "authz: " + e.Code + ": " + e.Message }

// stop flushes what the plugin holds, for at most FlushTimeout, and stops
// it. An upload already in flight finishes under OPA's HTTP timeouts; stop
// does not wait for it longer than stopGrace.
func (l *opaDecisionLogger) stop() {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.stopped = true
	m := l.manager
	l.mu.Unlock()
	if m == nil {
		return // never started
	}

	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.FlushTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Stop(ctx) // stops the plugin, which flushes while ctx lasts
		l.http.closeIdle()
	}()
	t := time.NewTimer(l.cfg.FlushTimeout + stopGrace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

func (l *opaDecisionLogger) stats() DecisionLogStats {
	count := func(name string) uint64 {
		n, _ := l.metrics.Counter(name).Value().(uint64)
		return n
	}
	var pending int64
	if p := l.plugin.Load(); p != nil {
		_, pending = p.BufferSize()
	}
	return DecisionLogStats{
		Logged:         l.logged.Load(),
		Failed:         l.failed.Load(),
		Dropped:        count(opaDropBufferFull) + count(opaDropEncoding),
		UploadedChunks: count(opaChunksUploaded),
		FailedUploads:  count(opaChunksUploadErr),
		PendingBytes:   pending,
	}
}

// newDecisionID is a random 128-bit id in hex.
func newDecisionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// dlogHTTP supplies the *http.Client of the decision-log service to OPA's
// REST client. OPA's manager finds auth plugins among its plugins, so it is
// registered as a (no-op) plugin too.
type dlogHTTP struct{ bundleHTTP }

func (*dlogHTTP) Start(context.Context) error      { return nil }
func (*dlogHTTP) Stop(context.Context)             {}
func (*dlogHTTP) Reconfigure(context.Context, any) {}
