package toolguard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/internal/jsonshape"
)

// origins is what p knows of a call's values: input.provenance, by
// destination ("call.destinations.0") and by string argument
// ("call.args.items.0.id"). A destination fixed in code (fixed[i]) is
// trusted: the model did not choose it. Values never seen are left out;
// nil when nothing is known.
func (p *Provenance) origins(args any, dests []authz.Destination, fixed []bool) map[string]authz.Origin {
	var out map[string]authz.Origin
	put := func(path string, o authz.Origin) {
		if out == nil {
			out = map[string]authz.Origin{}
		}
		out[path] = o
	}
	for i, d := range dests {
		if i < len(fixed) && fixed[i] {
			put("call.destinations."+strconv.Itoa(i), authz.Origin{Trusted: true})
			continue
		}
		if kind, v, ok := destinationKey(d); ok {
			if o, known := p.lookup([]valueKey{p.key1(kind, v)}); known {
				put("call.destinations."+strconv.Itoa(i), o)
			}
		}
	}
	walkStrings(args, "call.args", func(path, s string) {
		if o, known := p.valueOrigin(s); known {
			put(path, o)
		}
	})
	return out
}

// valueOrigin is where string argument s came from: trusted when s itself
// was registered trusted, or when every destination-like token in it was;
// untrusted for the sources of s itself and of each token not trusted.
func (p *Provenance) valueOrigin(s string) (authz.Origin, bool) {
	o, known := p.lookup([]valueKey{p.key1("v", s)})
	if o.Trusted || len(s) > p.maxValue {
		return o, known
	}
	allTrusted, any := true, false
	for t := range tokens(s) {
		to, k := p.lookup([]valueKey{p.key1(t.kind, t.value)})
		if t.kind == "word" && !k {
			// A code-like word seen nowhere says nothing: it is often
			// another token written without spaces (an IBAN), or the
			// model's own words.
			continue
		}
		any = true
		known = known || k
		if !to.Trusted {
			allTrusted = false
			for _, src := range to.Sources {
				if !slices.Contains(o.Sources, src) && len(o.Sources) < maxSources {
					o.Sources = append(o.Sources, src)
				}
			}
		}
	}
	o.Trusted = any && allTrusted
	o.Untrusted = len(o.Sources) > 0
	return o, known
}

// walkStrings calls fn with every string in v (decoded JSON) and its path.
func walkStrings(v any, path string, fn func(path, s string)) {
	switch x := v.(type) {
	case string:
		fn(path, x)
	case []any:
		for i, e := range x {
			walkStrings(e, path+"."+strconv.Itoa(i), fn)
		}
	case map[string]any:
		for k, e := range x {
			walkStrings(e, path+"."+k, fn)
		}
	}
}

// untrustedOnly lists, for the record, the values of a call that came from
// untrusted content and not from a trusted source: "path<-source", sources
// only, never a value.
func untrustedOnly(origins map[string]authz.Origin) []string {
	var out []string
	for path, o := range origins {
		if o.Untrusted && !o.Trusted {
			for _, src := range o.Sources {
				out = append(out, path+"<-"+src)
			}
		}
	}
	slices.Sort(out)
	return out
}

// outputTrie says, for each declared path of a tool's result, whether its
// strings are registered as untrusted or trusted.
type outputTrie struct {
	mode int // 0: as its parent; modeUntrusted; modeTrusted
	sub  map[string]*outputTrie
}

const (
	modeUntrusted = 1
	modeTrusted   = 2
)

func (t *outputTrie) add(p argPath, mode int) {
	for _, s := range p {
		if t.sub == nil {
			t.sub = map[string]*outputTrie{}
		}
		next := t.sub[s.name]
		if next == nil {
			next = &outputTrie{}
			t.sub[s.name] = next
		}
		t = next
	}
	t.mode = mode
}

// registerOutput registers the strings of a tool's result in p as its
// declaration says: under its untrusted label (with the call id) or as
// trusted. A result that is not JSON is registered as one string.
func (p *Provenance) registerOutput(o *outputSpec, callID string, result []byte) {
	source := o.label
	if callID != "" {
		source += "@" + callID
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(result))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		v = string(result)
	}
	var untrusted, trusted []string
	var walk func(v any, t *outputTrie, mode int)
	walk = func(v any, t *outputTrie, mode int) {
		if t != nil && t.mode != 0 {
			mode = t.mode
		}
		switch x := v.(type) {
		case string:
			switch mode {
			case modeUntrusted:
				untrusted = append(untrusted, x)
			case modeTrusted:
				trusted = append(trusted, x)
			}
		case []any:
			for _, e := range x {
				walk(e, t, mode) // a path crosses arrays
			}
		case map[string]any:
			for k, e := range x {
				var next *outputTrie
				if t != nil {
					next = t.sub[k]
				}
				walk(e, next, mode)
			}
		}
	}
	walk(v, o.trie, o.rootMode)
	if len(untrusted) > 0 {
		_ = p.Untrusted(source, untrusted...) // an error has made p overflow: later calls say so
	}
	if len(trusted) > 0 {
		_ = p.Trust(trusted...) // values past the bound stay unknown
	}
}

// recordOutput registers result, the output of the tool running under ctx,
// in the conversation's Provenance when the tool declares what its output
// carries. marshal gives the output as JSON; it is called only then.
func recordOutput(ctx context.Context, t *Tool, marshal func() ([]byte, error)) {
	if t.output == nil {
		return
	}
	p := provenanceOf(ctx)
	if p == nil {
		return
	}
	b, err := marshal()
	if err != nil {
		if t.output.label != "" {
			p.overflow.Store(true) // untrusted content the conversation cannot account for
		}
		return
	}
	id, _ := CallID(ctx)
	p.registerOutput(t.output, id, b)
}

// outputSpec is a validated Output.
type outputSpec struct {
	label    string
	trie     *outputTrie
	rootMode int
	paths    []argPath // as declared, for checkShape
}

// checkShape refuses declared paths the result's shape does not have (nil
// shape: unknown, as for WrapJSON, and everything is accepted).
func (sp *outputSpec) checkShape(result *jsonshape.Shape) error {
	for _, p := range sp.paths {
		if _, err := resultRoot.shapeAt(result, p); err != nil {
			return fmt.Errorf("output path %s: %w", p, err)
		}
	}
	return nil
}

func (o Output) spec() (*outputSpec, error) {
	if o.Untrusted == "" && len(o.UntrustedPaths) > 0 {
		return nil, errors.New("output: UntrustedPaths need an Untrusted label, such as untrusted:email")
	}
	if o.Untrusted == "" && len(o.TrustedPaths) == 0 {
		return nil, nil // nothing declared
	}
	sp := &outputSpec{label: o.Untrusted, trie: &outputTrie{}}
	if o.Untrusted != "" && len(o.UntrustedPaths) == 0 {
		sp.rootMode = modeUntrusted
	}
	for _, list := range []struct {
		paths []string
		mode  int
	}{{o.UntrustedPaths, modeUntrusted}, {o.TrustedPaths, modeTrusted}} {
		for _, raw := range list.paths {
			p, err := parseArgPath(raw)
			if err != nil {
				return nil, fmt.Errorf("output: %w", err)
			}
			sp.trie.add(p, list.mode)
			sp.paths = append(sp.paths, p)
		}
	}
	return sp, nil
}
