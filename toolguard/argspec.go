package toolguard

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/ztagent/ztagent/internal/jsonenc"
	"github.com/ztagent/ztagent/internal/jsonshape"
)

// argSpec is what a tool's declaration says about its arguments, checked
// when the tool is wrapped and applied to every call's arguments when they
// are frozen, before the policy sees them.
type argSpec struct {
	reading *level               // how the tool's decoder reads them (onereading.go)
	schema  *jsonschema.Resolved // Tool.InputSchema; nil: none
}

// newArgSpec checks t's declared destination and redaction paths against
// shape — the JSON shape of the tool's argument type (Wrap) or of its input
// schema (WrapJSON); nil when neither is known — and builds the spec. An
// error names the path and what the shape has instead.
func newArgSpec(t *Tool, shape *jsonshape.Shape, schema *jsonschema.Resolved) (*argSpec, error) {
	names := &nameTree{}
	for i, d := range t.Destinations {
		if d.fixed != nil {
			continue
		}
		if err := checkDestPath(shape, d.path); err != nil {
			return nil, fmt.Errorf("toolguard: tool %s: destination %d (%s): %w", t.Name, i, d.path, err)
		}
		names.add(d.path.names())
	}
	for _, p := range t.redact {
		if _, err := argsRoot.shapeAt(shape, p); err != nil {
			return nil, fmt.Errorf("toolguard: tool %s: redact %s: %w", t.Name, p, err)
		}
		names.add(p.names())
	}
	return &argSpec{reading: readingOf(shape, names, map[levelKey]*level{}), schema: schema}, nil
}

// check refuses arguments v (decoded JSON) that the tool could read
// differently from the guard, or that its input schema does not allow.
func (s *argSpec) check(v any) error {
	if s == nil {
		return nil
	}
	if err := checkOneReading(v, s.reading); err != nil {
		return err
	}
	if s.schema != nil {
		return validateInput(s.schema, v)
	}
	return nil
}

func (p argPath) names() []string {
	out := make([]string, len(p))
	for i, s := range p {
		out[i] = s.name
	}
	return out
}

// checkDestPath checks that a destination path reaches a string, or arrays
// of strings, in shape. Where the shape cannot say (an interface, raw JSON,
// a custom decoder, or no shape at all) the path is accepted: the call's
// own arguments are checked when it is made.
func checkDestPath(shape *jsonshape.Shape, p argPath) error {
	s, err := argsRoot.shapeAt(shape, p)
	if err != nil || s == nil || open(s) {
		return err
	}
	if s.Kind != jsonshape.String {
		return fmt.Errorf("%s: %s, not a string or an array of strings", argsRoot.where(p), what(s))
	}
	return nil
}

// shapeAt walks p down shape, crossing arrays as the guard does at call
// time, and returns the shape at its end (with arrays crossed), or nil when
// the shape stops saying what is below.
func (r pathRoot) shapeAt(s *jsonshape.Shape, p argPath) (*jsonshape.Shape, error) {
	for i := 0; ; i++ {
		s = throughArrays(s)
		if s == nil || open(s) || i == len(p) {
			return s, nil
		}
		seg := p[i]
		switch s.Kind {
		case jsonshape.Map:
			s = s.Elem
		case jsonshape.Object:
			f, ok := s.Fields[seg.name]
			if !ok {
				return nil, r.noField(s, p[:i], seg.name)
			}
			s = f
		default:
			return nil, fmt.Errorf("%s: no field %q in %s", r.where(p[:i]), seg.name, what(s))
		}
		if seg.array && s != nil && !open(s) && s.Kind != jsonshape.Array {
			return nil, fmt.Errorf("%s: %s, not an array", r.where(p[:i+1]), what(s))
		}
	}
}

// throughArrays is the shape of the elements of arrays (of arrays…) s
// holds; a recursive array type ends at a bound rather than looping.
func throughArrays(s *jsonshape.Shape) *jsonshape.Shape {
	for range 64 {
		if s == nil || s.Kind != jsonshape.Array {
			return s
		}
		s = s.Elem
	}
	return nil
}

// open says the shape accepts anything below it: an interface, raw JSON or
// a type that decodes itself.
func open(s *jsonshape.Shape) bool {
	return s.Kind == jsonshape.Any || s.Kind == jsonshape.Raw || s.Kind == jsonshape.Custom
}

func (r pathRoot) noField(s *jsonshape.Shape, at argPath, name string) error {
	fields := slices.Sorted(maps.Keys(s.Fields))
	msg := fmt.Sprintf("%s: no field %q (there are: %s)", r.where(at), name, strings.Join(fields, ", "))
	for _, f := range fields {
		if jsonenc.EqualFoldName(f, name) {
			msg += fmt.Sprintf("; did you mean %q? Paths match keys exactly", f)
			break
		}
	}
	if len(fields) == 0 {
		msg = fmt.Sprintf("%s: no field %q (there are none)", r.where(at), name)
	}
	return fmt.Errorf("%s", msg)
}

// pathRoot names what a path walks, in errors: the arguments, or the
// result (Tool.Output).
type pathRoot struct{ whole, part string }

var (
	argsRoot   = pathRoot{"the arguments", "argument "}
	resultRoot = pathRoot{"the result", "result field "}
)

func (r pathRoot) where(p argPath) string {
	if len(p) == 0 {
		return r.whole
	}
	return r.part + p.String()
}

func what(s *jsonshape.Shape) string {
	switch s.Kind {
	case jsonshape.Object:
		return "an object"
	case jsonshape.Map:
		return "a map"
	case jsonshape.Array:
		return "an array"
	}
	return "a " + s.What
}
