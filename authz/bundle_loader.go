package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/download"
	"github.com/open-policy-agent/opa/v1/keys"
	"github.com/open-policy-agent/opa/v1/logging"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/plugins/rest"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/ztagent/ztagent/internal/loop"
)

// bundleRetryBase is the first retry delay after a failed download, as in
// OPA's own polling loop.
const bundleRetryBase = 100 * time.Millisecond

// bundleLoader keeps one signed bundle in force. Download, ETag caching,
// signature and digest verification and manifest checks are OPA's own code
// (download.Downloader, bundle.Reader); this type only schedules downloads
// and turns verified bundles into policy sets.
type bundleLoader struct {
	e     *Engine
	name  string
	where string // URL of the bundle, for errors
	dl    *download.Downloader
	http  *bundleHTTP
	minD  time.Duration
	maxD  time.Duration
	// longPoll is BundleConfig.LongPoll; 0: off.
	longPoll time.Duration
	source   string

	// activeETag is the ETag of the bundle in force. Only the downloader's
	// callback touches it, and downloads never overlap.
	activeETag string
	activated  bool           // the last download activated a new bundle
	inflight   sync.WaitGroup // a download whose callback has not returned
	ready      chan struct{}  // closed when the first bundle is in force
	readyOnce  sync.Once
	lastErr    atomic.Pointer[error] // why the last attempt failed, for New
}

// startBundle activates the first bundle that downloads, verifies and
// compiles, then keeps polling in the background until Close.
func (e *Engine) startBundle(ctx context.Context, cfg BundleConfig) error {
	cfg, err := cfg.resolve()
	if err != nil {
		return err
	}
	l, err := newBundleLoader(e, cfg)
	if err != nil {
		return fmt.Errorf("authz: bundle %q: %w", cfg.Name, err)
	}
	bctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.bg.Add(1)
	go l.run(bctx)

	select {
	case <-l.ready:
		return nil
	case <-ctx.Done():
	}
	select {
	case <-l.ready: // activated just as ctx ended
		return nil
	default:
	}
	if p := l.lastErr.Load(); p != nil {
		return fmt.Errorf("authz: bundle %q from %s: no verified bundle activated: %w; last error: %w", cfg.Name, l.where, ctx.Err(), *p)
	}
	return fmt.Errorf("authz: bundle %q from %s: no bundle downloaded: %w", cfg.Name, l.where, ctx.Err())
}

// newBundleLoader wires OPA's downloader the way OPA's bundle plugin does
// (plugins/bundle.Plugin.newDownloader), with verification always on.
func newBundleLoader(e *Engine, cfg BundleConfig) (*bundleLoader, error) {
	l := &bundleLoader{
		e:        e,
		name:     cfg.Name,
		where:    strings.TrimRight(cfg.URL, "/") + "/" + cfg.Resource,
		http:     &bundleHTTP{user: cfg.Client},
		minD:     cfg.MinDelay,
		maxD:     cfg.MaxDelay,
		longPoll: cfg.LongPoll,
		source:   "bundle:" + cfg.Name,
		ready:    make(chan struct{}),
	}
	if cfg.LongPoll > 0 {
		l.http.longPoll = new(atomic.Bool)
	}
	restConf, err := json.Marshal(map[string]any{
		"name":        "ztagent-authz-bundle-" + cfg.Name,
		"url":         cfg.URL,
		"credentials": map[string]any{"plugin": bundleHTTPPlugin},
	})
	if err != nil {
		return nil, err
	}
	client, err := rest.New(restConf, nil,
		rest.AuthPluginLookup(func(name string) rest.HTTPAuthPlugin {
			if name == bundleHTTPPlugin {
				return l.http
			}
			return nil
		}),
		// Failures are reported through the engine (hook, stats,
		// LastReloadError); a library does not write to the global log.
		rest.Logger(logging.NewNoOpLogger()),
	)
	if err != nil {
		return nil, fmt.Errorf("rest client: %w", err)
	}
	// Manual trigger: this loader schedules downloads itself, so polling
	// delays can be shorter than a second and Close can wait for the last
	// download. Each download is still OPA's Trigger → oneShot.
	trigger := plugins.TriggerManual
	dlConf := download.Config{Trigger: &trigger}
	if cfg.LongPoll > 0 {
		secs := int64(cfg.LongPoll / time.Second)
		dlConf.Polling.LongPollingTimeoutSeconds = &secs
	}
	if err := dlConf.ValidateAndInjectDefaults(); err != nil {
		return nil, fmt.Errorf("downloader: %w", err)
	}
	verify := bundle.NewVerificationConfig(map[string]*keys.Config{
		cfg.KeyID: {Key: cfg.PublicKey, Algorithm: cfg.Algorithm, Scope: cfg.Scope},
	}, cfg.KeyID, cfg.Scope, nil)
	l.dl = download.New(dlConf, client, cfg.Resource).
		WithCallback(l.update).
		WithBundleVerificationConfig(verify).
		WithSizeLimitBytes(bundle.DefaultSizeLimitBytes).
		// Not lazy: the reader decodes data.json and checks that data and
		// modules stay under the manifest roots before we see the bundle.
		WithLazyLoadingMode(false).
		WithBundleName(cfg.Name).
		WithBundleParserOpts(ast.ParserOptions{RegoVersion: ast.RegoV1})
	return l, nil
}

// run polls until ctx ends: immediately, then after a jittered MinDelay to
// MaxDelay wait (at once while the server long-polls, see nextPoll), or an
// exponential backoff after a failure (as OPA's own loop does).
func (l *bundleLoader) run(ctx context.Context) {
	defer l.e.bg.Done()
	defer l.http.closeIdle()
	retries := 0
	loop.Loop{Timers: l.e.timers}.Run(ctx, 0, func(ctx context.Context) time.Duration {
		l.inflight.Add(1)
		l.activated = false
		start := l.e.now()
		err := l.dl.Trigger(ctx)
		if ctx.Err() != nil {
			// Trigger returns on cancellation while its download is still
			// unwinding; wait for it so nothing runs after Close.
			l.inflight.Wait()
			return loop.Stop
		}
		if err != nil {
			retries++
			return util.DefaultBackoff(float64(bundleRetryBase), float64(l.maxD), retries)
		}
		retries = 0
		return l.nextPoll(l.e.now().Sub(start), l.activated)
	})
}

// update is the downloader's callback: it is called once per download, with
// an error (request, HTTP status, signature, digest, manifest) or with a
// bundle that OPA has verified.
func (l *bundleLoader) update(ctx context.Context, u download.Update) error {
	defer l.inflight.Done()
	if err := ctx.Err(); err != nil {
		return err // closing: a canceled download is not a failure to report
	}
	if u.Error != nil {
		return l.reject(u.Error)
	}
	if u.Bundle == nil {
		return nil // 304 Not Modified: the bundle in force is current
	}
	ps, err := l.policySet(u.Bundle, u.ETag)
	if err != nil {
		return l.reject(err)
	}
	if err := l.e.Load(ctx, ps); err != nil {
		// Load has reported it (hook, stats, LastReloadError).
		l.lastErr.Store(&err)
		l.dl.SetCache(l.activeETag)
		return err
	}
	l.activeETag = u.ETag
	l.activated = true
	l.readyOnce.Do(func() { close(l.ready) })
	return nil
}

// reject reports a bundle that was not activated. As OPA's bundle plugin
// does, it points the downloader's cache back at the bundle in force, so an
// unchanged bad bundle is fetched and rejected again rather than skipped
// with a 304, and a server that goes back to the good one costs nothing.
func (l *bundleLoader) reject(err error) error {
	e := l.e
	rev := e.Revision()
	l.lastErr.Store(&err)
	rerr := e.reloadFailed(ReloadEvent{Time: e.now(), Source: l.source, Previous: rev, Revision: rev,
		Err: fmt.Errorf("authz: bundle %q from %s: %w", l.name, l.where, err)})
	l.dl.SetCache(l.activeETag)
	return rerr
}

// policySet turns a verified bundle into the unit the engine compiles. The
// bundle becomes the whole data document and the only policy.
func (l *bundleLoader) policySet(b *bundle.Bundle, etag string) (PolicySet, error) {
	if b.Type() != bundle.SnapshotBundleType {
		return PolicySet{}, fmt.Errorf("%s bundles are not supported: serve a snapshot bundle", b.Type())
	}
	if len(b.WasmModules) > 0 || len(b.PlanModules) > 0 || len(b.Wasm) > 0 {
		return PolicySet{}, errors.New("bundle carries wasm or plan modules, which this engine does not evaluate; serve Rego")
	}
	if path, ok := queryPath(l.e.settings.query); ok && b.Manifest.Roots != nil &&
		!bundle.RootPathsContain(*b.Manifest.Roots, path) {
		return PolicySet{}, fmt.Errorf("manifest roots %v do not cover the query %s", *b.Manifest.Roots, l.e.settings.query)
	}
	ps := PolicySet{Modules: make(map[string]string, len(b.Modules)), Source: l.source}
	if tag := strings.Trim(strings.TrimPrefix(etag, "W/"), `"`); tag != "" {
		ps.Source += "@" + tag
	}
	for _, m := range b.Modules {
		ps.Modules[strings.TrimPrefix(m.Path, "/")] = string(m.Raw)
	}
	data := b.Data
	if data == nil {
		data = map[string]any{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return PolicySet{}, fmt.Errorf("bundle data: %w", err)
	}
	ps.Data = raw
	return ps, nil
}

// queryPath is the data path a query reads ("ztagent/decision" for
// data.ztagent.decision), up to its first non-constant term. ok is false for
// a query that is not a data reference.
func queryPath(query string) (string, bool) {
	ref, err := ast.ParseRef(query)
	if err != nil || !ref.HasPrefix(ast.DefaultRootRef) {
		return "", false
	}
	var parts []string
	for _, t := range ref[1:] {
		s, ok := t.Value.(ast.String)
		if !ok {
			break
		}
		parts = append(parts, string(s))
	}
	return strings.Join(parts, "/"), true
}

// bundleHTTPPlugin names bundleHTTP to OPA's REST client.
const bundleHTTPPlugin = "ztagent-authz-bundle-http"

// bundleHTTP is an OPA REST auth plugin, the REST client's hook for
// supplying the *http.Client: the caller's, or OPA's default one, kept so
// that its idle connections can be closed with the engine.
type bundleHTTP struct {
	user *http.Client
	// longPoll, when not nil, is whether the server long-polls, as the
	// probe on every client saw it last.
	longPoll *atomic.Bool

	mu    sync.Mutex
	built []*http.Client
}

func (p *bundleHTTP) NewClient(c rest.Config) (*http.Client, error) {
	hc := p.user
	if hc == nil {
		t, err := rest.DefaultTLSConfig(c)
		if err != nil {
			return nil, err
		}
		hc = rest.DefaultRoundTripperClient(t, *c.ResponseHeaderTimeoutSeconds)
		p.mu.Lock()
		p.built = append(p.built, hc)
		p.mu.Unlock()
	}
	if p.longPoll != nil {
		return probed(hc, p.longPoll), nil
	}
	return hc, nil
}

func (*bundleHTTP) Prepare(*http.Request) error { return nil }

// closeIdle closes the connections of the clients built here; the caller's
// client is the caller's to manage.
func (p *bundleHTTP) closeIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, hc := range p.built {
		hc.CloseIdleConnections()
	}
}
