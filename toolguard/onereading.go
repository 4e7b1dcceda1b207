package toolguard

import (
	"fmt"
	"strconv"

	"github.com/ztagent/ztagent/internal/jsonenc"
	"github.com/ztagent/ztagent/internal/jsonshape"
)

// The guard walks the arguments' keys exactly; encoding/json, which the
// tool decodes them with, matches a key to a struct field exactly first and
// then by case folding (jsonenc.FoldName). Where the two could disagree —
// {"URL": …} against a field url, or {"address": …, "addreſs": …} — the
// guard would judge one value while the tool reads another. Arguments are
// therefore refused, before the policy runs, wherever an object has
//   - a key that folds to a known field without being spelled as it is, or
//   - two keys that fold together, unless both are known fields (then each
//     matches its own field exactly).
//
// Known fields at a level are those of the tool's argument type (Wrap) or
// input schema (Tool.InputSchema), and the keys that declared destination
// and redaction paths name. Objects the tool decodes into a map or an
// interface are matched exactly, so nothing is refused there.

// nameTree is the keys declared paths name, level by level.
type nameTree struct{ sub map[string]*nameTree }

func (n *nameTree) add(segs []string) {
	for _, s := range segs {
		if s == "*" {
			return // any key: nothing more to name
		}
		next := n.sub[s]
		if next == nil {
			next = &nameTree{}
			if n.sub == nil {
				n.sub = map[string]*nameTree{}
			}
			n.sub[s] = next
		}
		n = next
	}
}

// all is n's keys and the trees below them; none for a nil tree.
func (n *nameTree) all() map[string]*nameTree {
	if n == nil {
		return nil
	}
	return n.sub
}

// below is the tree under key, nil if n names nothing there.
func (n *nameTree) below(key string) *nameTree {
	if n == nil {
		return nil
	}
	return n.sub[key]
}

// level is what the guard knows of one place in the arguments: how the
// tool's decoder will read it. A nil level is unknown: every key there is
// checked against every other.
type level struct {
	// free: decoded into an interface (maps all the way down): no checks.
	free bool
	// array: elements are read as elem.
	array bool
	elem  *level
	// exact: decoded into a map: keys matched exactly; values read as
	// known[key], else as elem.
	exact bool
	// known fields (exact key → how it is read) and their folded forms.
	known  map[string]*level
	folded map[string]string
}

type levelKey struct {
	s *jsonshape.Shape
	n *nameTree
}

// readingOf builds the level for a value of shape s (nil: unknown) with the
// declared names n below it. Shapes may be recursive; memo ends the
// recursion, since a level is built once per shape and name node.
func readingOf(s *jsonshape.Shape, n *nameTree, memo map[levelKey]*level) *level {
	if s == nil && (n == nil || len(n.sub) == 0) {
		return nil
	}
	key := levelKey{s: s, n: n}
	if l, ok := memo[key]; ok {
		return l
	}
	l := &level{}
	memo[key] = l
	kind := jsonshape.Custom
	if s != nil {
		kind = s.Kind
	}
	switch kind {
	case jsonshape.Any:
		l.free = true
	case jsonshape.Array:
		l.array, l.elem = true, readingOf(s.Elem, n, memo)
	case jsonshape.Map:
		l.exact, l.elem = true, readingOf(s.Elem, nil, memo)
		for name, below := range n.all() {
			l.addKnown(name, readingOf(s.Elem, below, memo))
		}
	case jsonshape.Object:
		for name, f := range s.Fields {
			l.addKnown(name, readingOf(f, n.below(name), memo))
		}
		for name, below := range n.all() {
			if _, ok := l.known[name]; !ok {
				l.addKnown(name, readingOf(nil, below, memo))
			}
		}
	default: // scalars, custom decoders, raw JSON, unknown: only the names
		for name, below := range n.all() {
			l.addKnown(name, readingOf(nil, below, memo))
		}
	}
	return l
}

func (l *level) addKnown(name string, below *level) {
	if l.known == nil {
		l.known, l.folded = map[string]*level{}, map[string]string{}
	}
	l.known[name] = below
	l.folded[jsonenc.FoldName(name)] = name
}

// checkOneReading refuses arguments v (decoded JSON) that the tool's
// decoder could read differently from the guard, as described above.
func checkOneReading(v any, l *level) error {
	if l != nil && l.free {
		return nil
	}
	switch x := v.(type) {
	case []any:
		el := l // a path crosses arrays, so names apply to each element
		switch {
		case l == nil:
		case l.array:
			el = l.elem
		case l.exact:
			el = nil
		}
		for _, e := range x {
			if err := checkOneReading(e, el); err != nil {
				return err
			}
		}
	case map[string]any:
		if l != nil && l.exact {
			for k, val := range x {
				below, ok := l.known[k]
				if !ok {
					below = l.elem
				}
				if err := checkOneReading(val, below); err != nil {
					return err
				}
			}
			return nil
		}
		if l != nil && l.array {
			l = nil // an object where an array is read: the decoder fails; check it as unknown
		}
		if err := checkKeys(x, l); err != nil {
			return err
		}
		for k, val := range x {
			var below *level
			if l != nil {
				below = l.known[k]
			}
			if err := checkOneReading(val, below); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkKeys applies the two rules to one object's keys. A key that folds to
// a known field is refused in the first loop, so the second only looks for
// unknown keys that fold together: pairwise while the object is small, by
// a map of folded keys when it is not (a hostile object may be large).
func checkKeys(obj map[string]any, l *level) error {
	var buf [64]byte
	unknown := len(obj)
	for k := range obj {
		if l == nil {
			continue
		}
		if _, ok := l.known[k]; ok {
			unknown--
			continue
		}
		if name, ok := l.folded[string(jsonenc.AppendFoldName(buf[:0], k))]; ok {
			return fmt.Errorf("argument key %s is read as %s by a JSON decoder that folds case; spell it exactly", quoteKey(k), quoteKey(name))
		}
	}
	if unknown < 2 {
		return nil
	}
	isUnknown := func(k string) bool {
		if l == nil {
			return true
		}
		_, ok := l.known[k]
		return !ok
	}
	if len(obj) <= 16 {
		for a := range obj {
			for b := range obj {
				if a < b && isUnknown(a) && isUnknown(b) && jsonenc.EqualFoldName(a, b) {
					return foldedTogether(a, b)
				}
			}
		}
		return nil
	}
	seen := make(map[string]string, unknown)
	for k := range obj {
		if !isUnknown(k) {
			continue
		}
		f := jsonenc.FoldName(k)
		if prev, ok := seen[f]; ok {
			return foldedTogether(min(k, prev), max(k, prev))
		}
		seen[f] = k
	}
	return nil
}

func foldedTogether(a, b string) error {
	return fmt.Errorf("argument keys %s and %s are one field to a JSON decoder that folds case", quoteKey(a), quoteKey(b))
}

// quoteKey quotes an argument key for an error, cut to a length a reason
// can carry: keys are names, not values, but the model writes them.
func quoteKey(k string) string {
	const maxKey = 64
	if len(k) > maxKey {
		return strconv.Quote(k[:maxKey]) + "…"
	}
	return strconv.Quote(k)
}
