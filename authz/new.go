package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/open-policy-agent/opa/v1/util"
)

// defaultInterval is how often a policy directory is checked for changes.
const defaultInterval = 2 * time.Second

// New compiles the policy and prepares its query once; Decide then only
// evaluates. A policy that does not parse or compile is an error naming the
// file and line; nothing is left running.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	cfg := config{query: DefaultQuery, timeout: DefaultTimeout, interval: defaultInterval, now: time.Now}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("authz: nil option")
		}
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	unsafe, err := unsafeSet(cfg.allowUnsafe)
	if err != nil {
		return nil, fmt.Errorf("authz: unsafe builtins: %w", err)
	}
	e := &Engine{
		settings: settings{query: cfg.query, unsafe: unsafe, regoOpts: slices.Clone(cfg.regoOpts), now: cfg.now},
		timeout:  cfg.timeout,
		onReload: cfg.onReload,
		now:      cfg.now,
		timers:   cfg.timers,
	}
	if cfg.lint {
		e.settings.schemas = append([]ArgSchema{}, cfg.schemas...)
	}
	if cfg.logs == nil {
		e.settings.cacheSize = cfg.cacheSize
	} else {
		// Decision logs must see every decision: no cache is built, the
		// one place this rule is kept (cacheOf finds none).
		dl, err := newDecisionLogger(*cfg.logs, cfg.now)
		if err != nil {
			return nil, err
		}
		e.dlog = dl
	}
	if err := e.start(ctx, &cfg); err != nil {
		_ = e.Close() // nothing is left running
		return nil, err
	}
	return e, nil
}

// start loads the first policy (and shadow) and starts the background
// source the options name, if any.
func (e *Engine) start(ctx context.Context, cfg *config) error {
	if cfg.shadow != nil {
		if err := e.LoadShadow(ctx, *cfg.shadow); err != nil {
			return fmt.Errorf("authz: shadow: %w", err)
		}
	}
	if cfg.bundle != nil {
		// The first policy is the first bundle that downloads and verifies.
		return e.startBundle(ctx, *cfg.bundle)
	}
	ps, err := cfg.initialPolicy()
	if err != nil {
		return err
	}
	if err := e.Load(ctx, ps); err != nil {
		return err
	}
	if cfg.dir != "" {
		wctx, cancel := context.WithCancel(context.Background())
		e.cancel = cancel
		e.bg.Add(1)
		go e.watchDir(wctx, cfg.dir, cfg.interval, fingerprint(ps))
	}
	return nil
}

func (c *config) validate() error {
	switch {
	case c.now == nil:
		return errors.New("authz: nil clock")
	case c.timeout <= 0:
		return fmt.Errorf("authz: timeout must be > 0, got %s", c.timeout)
	case c.query == "":
		return errors.New("authz: empty query")
	case c.interval <= 0:
		return fmt.Errorf("authz: reload interval must be > 0, got %s", c.interval)
	case c.dir != "" && (len(c.modules) > 0 || c.dataSet):
		return errors.New("authz: WithPolicyDir cannot be combined with WithModule or WithData: the directory holds both")
	case c.bundle != nil && (c.dir != "" || len(c.modules) > 0 || c.dataSet):
		return errors.New("authz: WithBundle cannot be combined with WithPolicyDir, WithModule or WithData: the bundle holds the policy and its data")
	}
	return nil
}

// initialPolicy is the policy set the options describe.
func (c *config) initialPolicy() (PolicySet, error) {
	if c.dir != "" {
		ps, err := ReadPolicyDir(c.dir)
		if err != nil {
			return ps, fmt.Errorf("authz: %w", err)
		}
		return ps, nil
	}
	ps := PolicySet{Modules: map[string]string{}, Source: "options"}
	if len(c.modules) == 0 {
		maps.Copy(ps.Modules, DefaultPolicy())
		ps.Source = "embedded"
	}
	for _, m := range c.modules {
		if m.filename == "" {
			return ps, errors.New("authz: module with an empty filename")
		}
		if _, dup := ps.Modules[m.filename]; dup {
			return ps, fmt.Errorf("authz: module %q given twice", m.filename)
		}
		ps.Modules[m.filename] = m.source
	}
	data, err := c.dataJSONBytes()
	if err != nil {
		return ps, fmt.Errorf("authz: data: %w", err)
	}
	ps.Data = data
	return ps, nil
}

func (c *config) dataJSONBytes() ([]byte, error) {
	switch {
	case !c.dataSet || (c.dataJSON == nil && c.data == nil):
		return nil, nil
	case c.dataJSON != nil:
		var probe map[string]any
		if err := util.UnmarshalJSON(c.dataJSON, &probe); err != nil {
			return nil, err
		}
		if probe == nil {
			return nil, errors.New("not a JSON object")
		}
		return c.dataJSON, nil
	default:
		return json.Marshal(c.data)
	}
}
