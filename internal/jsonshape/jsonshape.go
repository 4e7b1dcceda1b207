// Package jsonshape reads the JSON shape of a Go type by encoding/json's
// rules: which object keys a struct encodes and decodes, which values are
// arrays, scalars or free-form. The policy linter (authz) checks references
// to tool arguments against it, and the guard (toolguard) checks declared
// destination and redaction paths against it and knows, at each level of a
// tool's arguments, which keys the tool's decoder will match.
package jsonshape

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"
)

// Kind is what JSON a Go type encodes as and decodes from.
type Kind uint8

const (
	// Object is a struct: named fields, which encoding/json matches to keys
	// exactly first and then by case folding.
	Object Kind = iota + 1
	// Array is a slice or an array (not []byte): elements of Elem.
	Array
	// String, Number and Bool are scalars; What says more.
	String
	Number
	Bool
	// Map is a map: any key, matched exactly; values of Elem.
	Map
	// Any is an interface: any JSON value; objects in it decode into maps,
	// whose keys are matched exactly.
	Any
	// Custom is a type with its own JSON marshaling or unmarshaling: its
	// code, not encoding/json's rules, decides what it reads.
	Custom
	// Raw is json.RawMessage: kept as bytes, decoded later by code not seen
	// here.
	Raw
)

// Shape is the JSON shape of a Go type. A recursive type gives a shape that
// refers to itself: walk it with a depth bound or a seen set.
type Shape struct {
	Kind Kind
	// What names a scalar's JSON type for people: "string", "number",
	// "boolean", "string (base64 bytes)", "string (an RFC 3339 time)".
	What string
	// Fields are an Object's keys, as encoding/json writes them.
	Fields map[string]*Shape
	// Elem is the shape of an Array's elements or a Map's values.
	Elem *Shape
}

var (
	timeType            = reflect.TypeFor[time.Time]()
	rawMessageType      = reflect.TypeFor[json.RawMessage]()
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// Of returns the JSON shape of t.
func Of(t reflect.Type) *Shape {
	return of(t, map[reflect.Type]*Shape{})
}

func of(t reflect.Type, seen map[reflect.Type]*Shape) *Shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := seen[t]; ok {
		return s
	}
	switch {
	case t == rawMessageType:
		return &Shape{Kind: Raw}
	case t == timeType:
		return &Shape{Kind: String, What: "string (an RFC 3339 time)"}
	case implementsAny(t, jsonMarshalerType, jsonUnmarshalerType):
		return &Shape{Kind: Custom} // it may read and write anything
	case implementsAny(t, textMarshalerType, textUnmarshalerType):
		return &Shape{Kind: String, What: "string"}
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &Shape{Kind: Object, Fields: map[string]*Shape{}}
		seen[t] = s
		for name, ft := range fieldsOf(t) {
			s.Fields[name] = of(ft, seen)
		}
		return s
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !reflect.PointerTo(t.Elem()).Implements(jsonMarshalerType) &&
			!reflect.PointerTo(t.Elem()).Implements(textMarshalerType) {
			return &Shape{Kind: String, What: "string (base64 bytes)"}
		}
		s := &Shape{Kind: Array}
		seen[t] = s
		s.Elem = of(t.Elem(), seen)
		return s
	case reflect.Array:
		s := &Shape{Kind: Array}
		seen[t] = s
		s.Elem = of(t.Elem(), seen)
		return s
	case reflect.Map:
		s := &Shape{Kind: Map}
		seen[t] = s
		s.Elem = of(t.Elem(), seen)
		return s
	case reflect.String:
		return &Shape{Kind: String, What: "string"}
	case reflect.Bool:
		return &Shape{Kind: Bool, What: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return &Shape{Kind: Number, What: "number"}
	case reflect.Interface:
		return &Shape{Kind: Any}
	default: // channels, functions, complex numbers: encoding/json refuses them
		return &Shape{Kind: Custom}
	}
}

// OwnJSON reports whether t, or a pointer to it, has its own JSON or text
// marshaling or unmarshaling: code, not encoding/json's rules, then decides
// what a value of t encodes as and reads.
func OwnJSON(t reflect.Type) bool {
	return implementsAny(t, jsonMarshalerType, jsonUnmarshalerType, textMarshalerType, textUnmarshalerType)
}

func implementsAny(t reflect.Type, is ...reflect.Type) bool {
	for _, i := range is {
		if t.Implements(i) || reflect.PointerTo(t).Implements(i) {
			return true
		}
	}
	return false
}

// field is a candidate for a JSON key of a struct: the depth of embedding
// it was found at and whether a tag named it.
type field struct {
	t      reflect.Type
	depth  int
	tagged bool
	clash  bool // another field of the same depth and tagging has the name
}

// fieldsOf lists the keys a struct encodes, by encoding/json's rules: a
// field of an embedded struct is promoted unless a shallower field has the
// name; at equal depth a tagged field wins, and two that tie are both
// dropped. It walks embedded structs breadth first, each type once.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	best := map[string]*field{}
	visited := map[reflect.Type]bool{}
	level := []reflect.Type{t}
	for depth := 0; len(level) > 0; depth++ {
		var next []reflect.Type
		for _, st := range level {
			if visited[st] {
				continue
			}
			visited[st] = true
			for i := range st.NumField() {
				f := st.Field(i)
				tag := f.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				ft := f.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
					if f.IsExported() || f.Type.Kind() != reflect.Pointer {
						next = append(next, ft) // its fields are promoted
					}
					continue
				}
				if !f.IsExported() {
					continue
				}
				tagged := name != ""
				if !tagged {
					name = f.Name
				}
				cand := &field{t: f.Type, depth: depth, tagged: tagged}
				switch cur := best[name]; {
				case cur == nil, cur.depth == depth && tagged && !cur.tagged:
					best[name] = cand
				case cur.depth == depth && tagged == cur.tagged:
					cur.clash = true
				}
			}
		}
		level = next
	}
	out := make(map[string]reflect.Type, len(best))
	for name, f := range best {
		if !f.clash {
			out[name] = f.t
		}
	}
	return out
}
