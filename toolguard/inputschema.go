package toolguard

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/ztagent/ztagent/internal/jsonshape"
)

// schemaVersions are the drafts the validator implements; a schema that
// names another is refused when the tool is wrapped, not at its first call.
var schemaVersions = []string{
	"",
	"http://json-schema.org/draft-07/schema#",
	"https://json-schema.org/draft-07/schema#",
	"https://json-schema.org/draft/2020-12/schema",
}

// parseInputSchema reads a tool's input schema (Tool.InputSchema) and
// resolves it. References must be local: a schema that would be fetched
// from the network at wrap time is refused. It returns the schema's JSON
// shape too, which declared paths are checked against.
func parseInputSchema(raw json.RawMessage) (*jsonschema.Resolved, *jsonshape.Shape, error) {
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, nil, fmt.Errorf("input schema is not a JSON Schema: %w", err)
	}
	if !slices.Contains(schemaVersions, s.Schema) {
		return nil, nil, fmt.Errorf("input schema: $schema %q is not draft-07 or draft 2020-12", s.Schema)
	}
	res, err := s.Resolve(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("input schema: %w", err)
	}
	return res, schemaShape(&s, &s, map[*jsonschema.Schema]*jsonshape.Shape{}), nil
}

// schemaShape is the JSON shape a schema describes, as far as paths need:
// objects with named properties (also from allOf/anyOf/oneOf branches and
// local $refs), arrays of items, scalars. What it cannot pin down is nil,
// unknown. It never says "map": a schema does not say whether the tool
// decodes an object into a map (keys matched exactly) or a struct (keys
// matched by folding case), so such objects are checked as unknown.
func schemaShape(s, root *jsonschema.Schema, memo map[*jsonschema.Schema]*jsonshape.Shape) *jsonshape.Shape {
	s = deref(s, root)
	if s == nil {
		return nil
	}
	if sh, ok := memo[s]; ok {
		return sh
	}
	props := map[string]*jsonschema.Schema{}
	collectProperties(s, root, props, map[*jsonschema.Schema]bool{})
	if len(props) > 0 {
		sh := &jsonshape.Shape{Kind: jsonshape.Object, Fields: make(map[string]*jsonshape.Shape, len(props))}
		memo[s] = sh
		for name, p := range props {
			sh.Fields[name] = schemaShape(p, root, memo)
		}
		return sh
	}
	var types []string
	for _, t := range append([]string{s.Type}, s.Types...) {
		if t != "" && t != "null" {
			types = append(types, t)
		}
	}
	if len(types) != 1 {
		return nil
	}
	switch types[0] {
	case "array":
		sh := &jsonshape.Shape{Kind: jsonshape.Array}
		memo[s] = sh
		sh.Elem = schemaShape(s.Items, root, memo)
		return sh
	case "string":
		return &jsonshape.Shape{Kind: jsonshape.String, What: "string"}
	case "number", "integer":
		return &jsonshape.Shape{Kind: jsonshape.Number, What: "number"}
	case "boolean":
		return &jsonshape.Shape{Kind: jsonshape.Bool, What: "boolean"}
	}
	return nil
}

// collectProperties gathers the named properties of s and of the branches
// it combines: a value may be read as any of them.
func collectProperties(s, root *jsonschema.Schema, into map[string]*jsonschema.Schema, seen map[*jsonschema.Schema]bool) {
	s = deref(s, root)
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	for name, p := range s.Properties {
		if _, ok := into[name]; !ok {
			into[name] = p
		}
	}
	for _, branches := range [][]*jsonschema.Schema{s.AllOf, s.AnyOf, s.OneOf} {
		for _, b := range branches {
			collectProperties(b, root, into, seen)
		}
	}
}

// deref follows local references ("#", "#/$defs/x", "#/definitions/x");
// any other is nil (unknown). Resolve has already checked they exist.
func deref(s, root *jsonschema.Schema) *jsonschema.Schema {
	for range 32 {
		if s == nil || s.Ref == "" {
			return s
		}
		switch ref := s.Ref; {
		case ref == "#":
			s = root
		case strings.HasPrefix(ref, "#/$defs/"):
			s = root.Defs[unescapePointer(strings.TrimPrefix(ref, "#/$defs/"))]
		case strings.HasPrefix(ref, "#/definitions/"):
			s = root.Definitions[unescapePointer(strings.TrimPrefix(ref, "#/definitions/"))]
		default:
			return nil
		}
	}
	return nil
}

func unescapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// validateInput validates decoded arguments against the schema. Numbers
// are handed to the validator as int64, uint64 or float64 (it reads a
// json.Number as a string); a number too large for a float64 is refused.
// The error names where the schema failed and which keyword, never the
// value: arguments may hold secrets, and the validator's own messages
// quote them. The full error is kept for errors.Unwrap.
func validateInput(res *jsonschema.Resolved, v any) error {
	inst, err := schemaInstance(v)
	if err != nil {
		return err
	}
	if err = res.Validate(inst); err == nil {
		return nil
	}
	loc, kw := violation(err)
	msg := "arguments do not match the tool's input schema"
	if loc != "" {
		msg += " at " + loc
	}
	if kw != "" {
		msg += " (" + kw + ")"
	}
	return &schemaError{msg: msg, err: err}
}

type schemaError struct {
	msg string
	err error
}

func (e *schemaError) Error() string { return e.msg }
func (e *schemaError) Unwrap() error { return e.err }

var (
	schemaLocation = regexp.MustCompile(`^[A-Za-z0-9_/.~$-]{1,200}$`)
	schemaKeyword  = regexp.MustCompile(`^[A-Za-z]{1,40}$`)
)

// violation reads the schema location and keyword of a validation error:
// the validator wraps it as "validating <location>: …" at each level, and
// the innermost message starts with the keyword that failed.
func violation(err error) (loc, kw string) {
	for e := err; e != nil; e = errors.Unwrap(e) {
		msg := e.Error()
		if rest, ok := strings.CutPrefix(msg, "validating "); ok {
			if l, _, ok := strings.Cut(rest, ": "); ok && schemaLocation.MatchString(l) {
				loc = l
			}
			continue
		}
		if k, _, ok := strings.Cut(msg, ":"); ok && schemaKeyword.MatchString(k) {
			kw = k
		} else if strings.HasPrefix(msg, "unexpected additional properties") {
			kw = "additionalProperties" // the one message that does not start with its keyword
		}
		break
	}
	return loc, kw
}

var errNumberRange = errors.New("a number in the arguments is out of range for the input schema's validator")

// schemaInstance copies decoded arguments with each json.Number as the Go
// number the validator reads.
func schemaInstance(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		s := x.String()
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return nil, errNumberRange
		}
		return f, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = schemaInstance(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			var err error
			if out[k], err = schemaInstance(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	default:
		return v, nil
	}
}
