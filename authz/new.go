package authz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/util"
)

// New compiles the policy and prepares its query once. Compile errors
// (including calls to refused builtins) are returned with the file and line
// OPA reports. Without WithModule the embedded default policy is loaded.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	cfg := config{query: DefaultQuery, timeout: DefaultTimeout}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("authz: nil option")
		}
		o.apply(&cfg)
	}
	if cfg.timeout <= 0 {
		return nil, fmt.Errorf("authz: timeout must be > 0, got %s", cfg.timeout)
	}
	if cfg.query == "" {
		return nil, errors.New("authz: empty query")
	}

	modules, err := loadModules(cfg.modules)
	if err != nil {
		return nil, fmt.Errorf("authz: %w", err)
	}
	data, canonical, err := loadData(&cfg)
	if err != nil {
		return nil, fmt.Errorf("authz: data: %w", err)
	}
	unsafe, err := unsafeSet(cfg.allowUnsafe)
	if err != nil {
		return nil, fmt.Errorf("authz: unsafe builtins: %w", err)
	}

	// The escape-hatch options go first so the safety settings below win.
	ropts := slices.Clone(cfg.regoOpts)
	ropts = append(ropts,
		rego.Query(cfg.query),
		rego.Store(inmem.NewFromObject(data)),
		rego.SetRegoVersion(ast.RegoV1),
		rego.StrictBuiltinErrors(true),
		rego.UnsafeBuiltins(unsafe),
	)
	for _, m := range modules {
		ropts = append(ropts, rego.Module(m.filename, m.source))
	}
	prepared, err := rego.New(ropts...).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("authz: compile policy: %w", err)
	}

	return &Engine{
		prepared: prepared,
		ready:    true,
		timeout:  cfg.timeout,
		policyID: cfg.query,
		revision: revision(modules, canonical, cfg.query),
	}, nil
}

// loadModules returns the user's modules, or the embedded default policy
// when there are none.
func loadModules(given []module) ([]module, error) {
	if len(given) == 0 {
		def := DefaultPolicy()
		out := make([]module, 0, len(def))
		for _, name := range slices.Sorted(maps.Keys(def)) {
			out = append(out, module{filename: name, source: def[name]})
		}
		return out, nil
	}
	seen := make(map[string]bool, len(given))
	for _, m := range given {
		if m.filename == "" {
			return nil, errors.New("module with an empty filename")
		}
		if seen[m.filename] {
			return nil, fmt.Errorf("module %q given twice", m.filename)
		}
		seen[m.filename] = true
	}
	return given, nil
}

// loadData returns the data document as OPA wants it (JSON numbers kept
// exact) and its canonical JSON (sorted keys) for the revision. Going through
// JSON also copies the caller's map, so the engine never shares it.
func loadData(cfg *config) (map[string]any, []byte, error) {
	raw := cfg.dataJSON
	if !cfg.dataSet || (cfg.dataJSON == nil && cfg.data == nil) {
		raw = []byte("{}")
	} else if cfg.dataJSON == nil {
		b, err := json.Marshal(cfg.data)
		if err != nil {
			return nil, nil, err
		}
		raw = b
	}
	var doc map[string]any
	if err := util.UnmarshalJSON(raw, &doc); err != nil {
		return nil, nil, err
	}
	if doc == nil {
		return nil, nil, errors.New("not a JSON object")
	}
	canonical, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	return doc, canonical, nil
}
