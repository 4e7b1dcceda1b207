package toolguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/internal/jsonshape"
	"github.com/ztagent/ztagent/toolguard/egress"
)

// frozen is the authorized copy of a call's arguments: the canonical JSON the
// policy saw, its digest, and the decoded form destinations are derived from.
// The tool receives a value rebuilt from raw, never the caller's value, so
// changing the caller's value after the decision changes nothing.
type frozen struct {
	raw     []byte
	digest  string
	decoded any
	// derived, when set, holds the destinations derived from decoded, for
	// a freezer whose tool's destinations are pure functions of the
	// arguments; it is shared by every call with the same arguments.
	derived *derivedDests
}

// derivedDests are the destinations of one set of frozen arguments, derived
// once. Read only after once.
type derivedDests struct {
	once sync.Once
	d    derivation
	err  error
}

// derivation is what a call's arguments are found to reach: the
// destinations the policy sees, their descriptions for records, and, for
// each path, the root of the PathArg that derived it, which the tool's
// OpenFile must use (another declaration's root may also contain the path,
// but the decision checked it under this one).
type derivation struct {
	dests     []authz.Destination
	described []string
	files     []egress.File
	// fixed marks the destinations declared in code (FixedURL), not taken
	// from the arguments: the model did not choose them.
	fixed []bool
}

// destinations derives what the tool's declarations find in the arguments;
// the caller must not modify it.
func (f *frozen) destinations(decls []Dest) (derivation, error) {
	d := f.derived
	if d == nil { // not remembered: derive for this call only
		return derive(decls, f.decoded)
	}
	d.once.Do(func() { d.d, d.err = derive(decls, f.decoded) })
	return d.d, d.err
}

// freezer is freezeJSON with a memory of the arguments it froze last: an
// agent calls the same tool with the same arguments again and again (that is
// when a decision can be reused at all), and freezing is a pure function of
// the bytes, so the result for the same bytes is the same. What it hands out
// is only read (the canonical bytes go to the policy, the decoded form to
// the destination checks; a decider gets a copy of the bytes); every tool
// call still gets its own copy of the arguments, or, for a plain value
// (valueFreezer), a value no call can change. It keeps at most freezeEntries results of arguments up to
// freezeMaxBytes long, starting over when full.
type freezer struct {
	// pure says the tool's destinations are a function of the arguments
	// alone (URLs, email addresses, argv: no path, which depends on the file
	// system), so they are derived once per remembered arguments too.
	pure bool
	// digests names the arguments (argsdigest.go).
	digests *argsDigester
	// spec refuses arguments the tool could read differently from the
	// guard, or that break its input schema (argspec.go); nil checks none.
	spec *argSpec

	mu sync.RWMutex
	m  map[string]frozen
}

func newFreezer(decls []Dest, digests *argsDigester, spec *argSpec) *freezer {
	pure := true
	for _, d := range decls {
		pure = pure && d.kind != "path"
	}
	return &freezer{pure: pure, digests: digests, spec: spec}
}

const (
	freezeEntries  = 256
	freezeMaxBytes = 1024
)

func (fz *freezer) freezeJSON(raw []byte) (frozen, error) {
	if fz == nil {
		return freezeJSON(raw, nil)
	}
	if len(raw) > freezeMaxBytes {
		return fz.freezeChecked(raw)
	}
	fz.mu.RLock()
	f, ok := fz.m[string(raw)]
	fz.mu.RUnlock()
	if ok {
		return f, nil
	}
	f, err := fz.freezeChecked(raw)
	if err != nil {
		return f, err
	}
	if fz.pure {
		f.derived = new(derivedDests)
	}
	fz.mu.Lock()
	if fz.m == nil || len(fz.m) >= freezeEntries {
		fz.m = make(map[string]frozen, freezeEntries)
	}
	fz.m[string(raw)] = f
	fz.mu.Unlock()
	return f, nil
}

// freezeChecked is freezeJSON followed by the tool's checks of the
// arguments (spec): what is refused is never remembered.
func (fz *freezer) freezeChecked(raw []byte) (frozen, error) {
	f, err := freezeJSON(raw, fz.digests)
	if err == nil {
		err = fz.spec.check(f.decoded)
	}
	if err != nil {
		return frozen{}, err
	}
	return f, nil
}

// freezeJSON canonicalizes raw JSON arguments: numbers kept exactly, object
// keys sorted, insignificant space removed. Trailing data is refused so that
// the policy and the tool cannot read two different documents. The digest
// is taken under digests.
func freezeJSON(raw []byte, digests *argsDigester) (frozen, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return frozen{}, fmt.Errorf("arguments are not valid JSON: %w", err)
	}
	// Only JSON whitespace may follow. (Asking the decoder for another token
	// would let through trailing bytes that are not JSON at all.)
	if rest := raw[dec.InputOffset():]; len(bytes.Trim(rest, " \t\r\n")) > 0 {
		return frozen{}, errors.New("arguments have data after the JSON value")
	}
	canon, err := json.Marshal(v)
	if err != nil {
		return frozen{}, fmt.Errorf("arguments cannot be re-encoded: %w", err)
	}
	return frozen{raw: canon, digest: digests.digest(canon), decoded: v}, nil
}

// freezeValue marshals typed arguments, canonicalizes them and rebuilds a
// fresh value from the canonical bytes. A type that does not survive the round
// trip (unexported state, custom marshalers that lose data) is refused: the
// tool would otherwise run on something other than what was authorized.
//
// lossless says A's type provably survives the round trip (roundTripSafe);
// then the copy is not marshaled again to check it.
func freezeValue[A any](fz *freezer, a A, lossless bool) (A, frozen, error) {
	var zero A
	b, err := json.Marshal(a)
	if err != nil {
		return zero, frozen{}, fmt.Errorf("arguments do not marshal to JSON: %w", err)
	}
	f, err := fz.freezeJSON(b)
	if err != nil {
		return zero, frozen{}, err
	}
	var copied A
	if err := json.Unmarshal(f.raw, &copied); err != nil {
		return zero, frozen{}, fmt.Errorf("arguments do not unmarshal from their own JSON: %w", err)
	}
	if lossless {
		return copied, f, nil
	}
	again, err := json.Marshal(copied)
	// The usual case: the copy marshals to the very bytes the value did, so
	// it canonicalizes to the same digest without a second canonical pass.
	if err == nil && !bytes.Equal(again, b) {
		var g frozen
		if g, err = fz.freezeJSON(again); err == nil && g.digest != f.digest {
			err = errors.New("arguments change in a JSON round trip")
		}
	}
	if err != nil {
		return zero, frozen{}, fmt.Errorf("arguments cannot be frozen: %w", err)
	}
	return copied, f, nil
}

// roundTripSafe reports whether every value of t marshals to JSON, and back,
// to an equal value by encoding/json's default rules alone, so that a copy
// unmarshaled from a value's JSON marshals to the same bytes. It is
// conservative: only booleans, integers, floats, strings (not json.Number),
// and structs, pointers, slices, arrays and string-keyed maps of those
// qualify, with no type along the way implementing a JSON or text
// (un)marshaler and no field using the ",string" option. Interfaces do not
// qualify (a number in an interface comes back as float64).
//
// Why these survive: integers and strings are written exactly (invalid UTF-8
// is already replaced when the value is first marshaled); floats are written
// in the shortest form that parses back to the same bits; []byte is base64;
// unexported fields are skipped both ways; and every key of the JSON names a
// field exactly, since the JSON came from the same type.
func roundTripSafe(t reflect.Type) bool {
	return roundTripSafeSeen(t, map[reflect.Type]bool{})
}

var jsonNumberType = reflect.TypeFor[json.Number]()

func roundTripSafeSeen(t reflect.Type, seen map[reflect.Type]bool) bool {
	if ok, done := seen[t]; done {
		return ok // a recursive type: decided by the outer call
	}
	seen[t] = true
	ok := roundTripSafeType(t, seen)
	seen[t] = ok
	return ok
}

func roundTripSafeType(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == jsonNumberType || jsonshape.OwnJSON(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return roundTripSafeSeen(t.Elem(), seen)
	case reflect.Map:
		k := t.Key()
		return k.Kind() == reflect.String && roundTripSafeType(k, seen) && roundTripSafeSeen(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" || !f.IsExported() && !f.Anonymous {
				continue // never marshaled, never unmarshaled
			}
			if _, opts, _ := strings.Cut(tag, ","); hasOption(opts, "string") {
				return false
			}
			if !roundTripSafeSeen(f.Type, seen) {
				return false
			}
		}
		return true
	default: // interfaces, complex numbers, channels, functions, unsafe pointers
		return false
	}
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}
