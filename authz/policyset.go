package authz

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/open-policy-agent/opa/v1/util"
)

// PolicySet is one version of the policy: Rego modules and the data they
// read. It is the unit that is compiled, swapped in atomically, and named by
// the Revision of every decision made under it, whether it came from
// WithModule, a directory or a signed bundle.
type PolicySet struct {
	// Modules maps a file name (used in errors and in the revision) to rego
	// v1 source. Files ending in _test.rego are ignored.
	Modules map[string]string
	// Data is the `data` document as a JSON object; nil means {}.
	Data []byte
	// Source says where the set came from, for reports ("embedded",
	// "dir:/etc/ztagent/policy", "bundle:authz@<etag>").
	Source string
}

// normalized is a PolicySet checked and reduced to what compiles: modules in
// file-name order, data decoded and re-encoded canonically.
type normalized struct {
	modules   []module
	data      map[string]any
	canonical []byte
	source    string
}

func (ps PolicySet) normalize() (normalized, error) {
	var n normalized
	n.source = ps.Source
	for _, name := range slices.Sorted(maps.Keys(ps.Modules)) {
		if name == "" {
			return n, errors.New("module with an empty file name")
		}
		if isRegoTest(name) {
			continue
		}
		n.modules = append(n.modules, module{filename: name, source: ps.Modules[name]})
	}
	if len(n.modules) == 0 {
		return n, errors.New("policy set has no modules")
	}
	raw := ps.Data
	if raw == nil {
		raw = []byte("{}")
	}
	if err := util.UnmarshalJSON(raw, &n.data); err != nil {
		return n, fmt.Errorf("data: %w", err)
	}
	if n.data == nil {
		return n, errors.New("data: not a JSON object")
	}
	canonical, err := json.Marshal(n.data)
	if err != nil {
		return n, fmt.Errorf("data: %w", err)
	}
	n.canonical = canonical
	return n, nil
}
