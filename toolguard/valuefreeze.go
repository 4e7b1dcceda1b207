package toolguard

import (
	"reflect"
	"sync"
)

// valueFreezer remembers, for an argument type that is a plain value, the
// frozen copy and form of the last values frozen, keyed by the value itself,
// so a repeated call is neither marshaled nor unmarshaled.
//
// A plain value is made of booleans, integers and strings only, in structs
// and arrays, and survives the JSON round trip (roundTripSafe). Such a type
// is comparable and holds no reference, so:
//   - equal values (==) marshal to the same bytes: no custom marshaler, and
//     == on strings compares their bytes, invalid UTF-8 included; floats are
//     left out because == says 0 equals -0 (written differently) and NaN
//     differs from itself;
//   - the copy remembered can be handed to every call: A is passed by value
//     and nothing in it can be shared or changed behind the tool's back.
//
// The result is exactly what freezeValue would return for the value, so a
// hit changes nothing a policy, a record or a tool sees.
type valueFreezer[A any] struct {
	bytes    *freezer
	lossless bool
	plain    bool

	mu sync.RWMutex
	m  map[any]valueFrozen[A]
}

type valueFrozen[A any] struct {
	copied A
	f      frozen
}

func newValueFreezer[A any](bytes *freezer) *valueFreezer[A] {
	t := reflect.TypeFor[A]()
	lossless := roundTripSafe(t)
	return &valueFreezer[A]{bytes: bytes, lossless: lossless, plain: lossless && plainValue(t)}
}

func (vf *valueFreezer[A]) freeze(a A) (A, frozen, error) {
	if !vf.plain {
		return freezeValue(vf.bytes, a, vf.lossless)
	}
	vf.mu.RLock()
	e, ok := vf.m[a]
	vf.mu.RUnlock()
	if ok {
		return e.copied, e.f, nil
	}
	copied, f, err := freezeValue(vf.bytes, a, vf.lossless)
	if err != nil || len(f.raw) > freezeMaxBytes {
		return copied, f, err // errors are not remembered; nor large values
	}
	vf.mu.Lock()
	if vf.m == nil || len(vf.m) >= freezeEntries {
		vf.m = make(map[any]valueFrozen[A], freezeEntries)
	}
	vf.m[a] = valueFrozen[A]{copied: copied, f: f}
	vf.mu.Unlock()
	return copied, f, nil
}

// plainValue reports whether t is made of booleans, integers and strings
// only, in structs and arrays (see valueFreezer). Marshalers are ruled out by
// roundTripSafe, which the caller checks too.
func plainValue(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	case reflect.Array:
		return plainValue(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !plainValue(t.Field(i).Type) {
				return false
			}
		}
		return true
	default: // floats, pointers, slices, maps, interfaces, channels, functions
		return false
	}
}
