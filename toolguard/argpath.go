package toolguard

import (
	"errors"
	"fmt"
	"strings"
)

// argPath is a declared path into a tool's JSON arguments: object keys
// separated by dots ("msg.to"). Arrays are crossed wherever they stand: a
// path is followed into every element of an array it meets, so "links.url"
// reaches the url of each link in {"links":[{"url":…},{"url":…}]}, and
// "to" reaches each address in {"to":["a@x","b@y"]}. A segment may say so
// with "[]" ("links[].url"); then the value there must be an array.
type argPath []pathSeg

type pathSeg struct {
	name  string
	array bool // written "name[]": the value must be an array
}

// parseArgPath reads a declared path. Empty segments, and the characters
// a path cannot mean literally ('*', '[' or ']' other than a final "[]"),
// are refused: a declaration that could be read two ways is a mistake.
func parseArgPath(s string) (argPath, error) {
	if s == "" {
		return nil, errors.New("empty argument path")
	}
	var p argPath
	for seg := range strings.SplitSeq(s, ".") {
		name, array := strings.CutSuffix(seg, "[]")
		switch {
		case name == "":
			return nil, fmt.Errorf("argument path %q has an empty segment", s)
		case strings.ContainsAny(name, "*[]"):
			return nil, fmt.Errorf("argument path %q: segment %q may not contain '*', '[' or ']' (write \"name[]\" for an array)", s, seg)
		}
		p = append(p, pathSeg{name: name, array: array})
	}
	return p, nil
}

func (p argPath) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.name)
		if s.array {
			b.WriteString("[]")
		}
	}
	return b.String()
}

// errAbsent is a path that reaches nothing: a key not present, or null
// (encoding/json leaves a field unset for null).
var errAbsent = errors.New("absent")

// eachString calls fn with every string p reaches in v (decoded JSON, as
// encoding/json decodes into an any), crossing arrays. The value at the end
// of p must be a string or an array of strings (arrays of arrays are
// crossed too). A present value of another shape is an error; so is a part
// of p that is absent, unless optional, in which case that part yields
// nothing.
func (p argPath) eachString(v any, optional bool, fn func(string) error) error {
	err := p.walk(v, 0, optional, fn)
	if errors.Is(err, errAbsent) {
		return fmt.Errorf("argument %s is missing (declare the destination Optional() if calls may leave it out)", p)
	}
	return err
}

func (p argPath) walk(v any, i int, optional bool, fn func(string) error) error {
	if i == len(p) {
		return p.leaf(v, optional, fn)
	}
	switch x := v.(type) {
	case nil:
		return p.absent(optional)
	case []any:
		for _, e := range x {
			if err := p.walk(e, i, optional, fn); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		child, ok := x[p[i].name]
		if !ok || child == nil {
			return p.absent(optional)
		}
		if _, isArray := child.([]any); p[i].array && !isArray {
			return fmt.Errorf("argument %s: %s is %s, not an array", p, p[:i+1], jsonKind(child))
		}
		return p.walk(child, i+1, optional, fn)
	default:
		if i == 0 {
			return fmt.Errorf("argument %s: the arguments are %s, not an object", p, jsonKind(v))
		}
		return fmt.Errorf("argument %s: %s is %s, not an object", p, p[:i], jsonKind(v))
	}
}

func (p argPath) leaf(v any, optional bool, fn func(string) error) error {
	switch x := v.(type) {
	case nil:
		return p.absent(optional)
	case string:
		return fn(x)
	case []any:
		for _, e := range x {
			if e == nil {
				// In an array, null is not "absent": a decoder makes it
				// the zero value, an empty string the guard never judged.
				return fmt.Errorf("argument %s: want strings, got null", p)
			}
			if err := p.leaf(e, false, fn); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("argument %s: want a string or an array of strings, got %s", p, jsonKind(v))
	}
}

func (p argPath) absent(optional bool) error {
	if optional {
		return nil
	}
	return errAbsent
}

// jsonKind names the JSON type of a decoded value, for errors: never the
// value itself, which may be a secret.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return "a number"
	}
}
