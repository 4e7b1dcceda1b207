package toolguard

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/internal/jsonshape"
)

// The property of the one-reading rule: for any arguments and any struct
// type a tool might decode them into with encoding/json, the destinations
// the guard derives are exactly those the decoded value holds — or the
// guard refuses the call. (Where the decoder reports a type error, the
// tool would fail; then what it read must still be among what was judged.) It is checked three ways: the guard knowing
// nothing of the type (WrapJSON), knowing the type (Wrap), and knowing a
// JSON Schema inferred from it (Tool.InputSchema).

// gen draws choices from bytes, so a property test (random bytes) and a
// fuzz target (the fuzzer's bytes) share one generator.
type gen struct {
	b []byte
	i int
}

func (g *gen) intn(n int) int {
	if g.i >= len(g.b) {
		return 0
	}
	v := int(g.b[g.i])
	g.i++
	return v % n
}

func pick[T any](g *gen, xs ...T) T { return xs[g.intn(len(xs))] }

// Names a path can have, and spellings encoding/json reads as them.
var foldVariants = map[string][]string{
	"address": {"Address", "ADDRESS", "addreſs", "ADDREſS", "adDress"},
	"link":    {"Link", "LINK", "lin\u212a", "LIN\u212a"},
	"msg":     {"Msg", "MSG", "mſg"},
	"items":   {"Items", "ITEMS", "itemſ"},
}

var otherKeys = []string{"other", "Other", "to", "x"}

var urlValues = []string{
	"https://good.example/a", "https://evil.example/b", "HTTPS://GOOD.EXAMPLE", "http://127.0.0.1/",
	"not a url", "", "https://good.example/a?x=1",
}

// keyPool is every key the generator writes.
func keyPool() []string {
	var out []string
	for name, vs := range foldVariants {
		out = append(out, name)
		out = append(out, vs...)
	}
	return append(out, otherKeys...)
}

// structType builds a struct type holding path: the first name as a field
// tagged exactly, of a type that holds the rest, next to fields whose tags
// are other spellings of it (read only when the exact one is absent).
func (g *gen) structType(path []string, n *int) reflect.Type {
	var ft reflect.Type
	if len(path) == 1 {
		ft = pick(g, reflect.TypeFor[string](), reflect.TypeFor[*string](), reflect.TypeFor[[]string](),
			reflect.TypeFor[[][]string](), reflect.TypeFor[[]*string]())
	} else {
		inner := g.structType(path[1:], n)
		ft = pick(g, inner, reflect.PointerTo(inner), reflect.SliceOf(inner), reflect.SliceOf(reflect.SliceOf(inner)))
	}
	fields := []reflect.StructField{{Name: "D", Type: ft, Tag: reflect.StructTag(`json:"` + path[0] + `"`)}}
	used := map[string]bool{path[0]: true}
	for range g.intn(4) {
		tag := pick(g, append(append([]string{}, foldVariants[path[0]]...), otherKeys...)...)
		if used[tag] {
			continue // two fields tied on one name are both dropped: not a type anyone writes
		}
		used[tag] = true
		*n++
		et := pick(g, reflect.TypeFor[string](), reflect.TypeFor[int](), reflect.TypeFor[[]string](),
			reflect.TypeFor[map[string]string](), reflect.TypeFor[any](), reflect.TypeFor[struct {
				Address string `json:"address"`
				Link    []string
			}]())
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("E%d", *n), Type: et, Tag: reflect.StructTag(`json:"` + tag + `"`)})
	}
	return reflect.StructOf(fields)
}

func (g *gen) value(depth int, keys []string) any {
	switch g.intn(8) {
	case 0:
		return nil
	case 1, 2:
		return pick(g, urlValues...)
	case 3, 4:
		var a []any
		for range g.intn(3) {
			a = append(a, g.value(depth+1, keys))
		}
		return a
	case 5, 6:
		if depth < 4 {
			return g.object(depth+1, keys)
		}
		return pick(g, urlValues...)
	default:
		return json.Number("7")
	}
}

func (g *gen) object(depth int, keys []string) map[string]any {
	m := map[string]any{}
	for range g.intn(5) {
		m[pick(g, keys...)] = g.value(depth, keys)
	}
	return m
}

// readStrings collects the non-empty strings at path in a decoded value,
// as the tool would read them: fields by their exact tag (field D),
// through pointers, slices and arrays.
func readStrings(v reflect.Value, path []string, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			readStrings(v.Elem(), path, out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			readStrings(v.Index(i), path, out)
		}
	case reflect.String:
		if len(path) == 0 && v.String() != "" {
			*out = append(*out, v.String())
		}
	case reflect.Struct:
		if len(path) > 0 {
			readStrings(v.FieldByName("D"), path[1:], out)
		}
	}
}

// loosen drops what makes an inferred schema refuse most generated
// arguments (required fields, no other properties), so the property is
// tested on arguments the schema lets through.
func loosen(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	s.Required, s.AdditionalProperties = nil, nil
	for _, p := range s.Properties {
		loosen(p)
	}
	loosen(s.Items)
}

// checkOneReadingProperty runs one generated case.
func checkOneReadingProperty(t *testing.T, data []byte) {
	g := &gen{b: data}
	path := pick(g, []string{"address"}, []string{"link"}, []string{"msg", "address"}, []string{"items", "link"})
	var n int
	typ := g.structType(path, &n)
	args := g.object(0, keyPool())
	raw, err := json.Marshal(args)
	require.NoError(t, err)

	decls := []Dest{URLArg(strings.Join(path, "."))}
	if g.intn(2) == 0 {
		decls[0] = decls[0].Optional()
	}
	tool := Tool{Name: "t", Effect: Read, Destinations: decls}
	schema, err := jsonschema.ForType(typ, &jsonschema.ForOptions{IgnoreInvalidTypes: true})
	require.NoError(t, err)
	loosen(schema)
	schemaJSON, err := json.Marshal(schema)
	require.NoError(t, err)
	res, schemaShape, err := parseInputSchema(schemaJSON)
	require.NoError(t, err, "%s", schemaJSON)

	for _, variant := range []struct {
		name   string
		shape  *jsonshape.Shape
		schema *jsonschema.Resolved
	}{
		{"no shape", nil, nil},
		{"the type's shape", jsonshape.Of(typ), nil},
		{"an inferred schema", schemaShape, res},
	} {
		spec, err := newArgSpec(&tool, variant.shape, variant.schema)
		require.NoError(t, err, variant.name)
		f, err := newFreezer(decls, nil, spec).freezeJSON(raw)
		if err != nil {
			continue // refused: the tool does not run
		}
		d, err := f.destinations(decls)
		if err != nil {
			continue
		}
		// The tool decodes what the guard froze (WrapJSON hands it f.raw,
		// Wrap a value rebuilt from it), into its own type.
		v := reflect.New(typ)
		decodeErr := json.Unmarshal(f.raw, v.Interface()) // a type error still fills what it can
		var read []string
		readStrings(v.Elem(), path, &read)
		want := make([]authz.Destination, 0, len(read))
		for _, s := range read {
			dst, err := urlDestination(s)
			require.NoError(t, err, "%s: the guard allowed %s, but the tool reads %q, which it never judged (type %v)", variant.name, raw, s, typ)
			want = append(want, dst)
		}
		if decodeErr != nil {
			// The tool's decoder failed (a value of the wrong type, which
			// it skips): it reads less than the guard judged, never more.
			for _, w := range want {
				require.Contains(t, d.dests, w, "%s: args %s, type %v", variant.name, raw, typ)
			}
			continue
		}
		require.Equal(t, want, d.dests, "%s: args %s, type %v", variant.name, raw, typ)
	}
}

func TestOneReadingProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 3000
	}
	data := make([]byte, 256)
	for range n {
		for i := 0; i < len(data); i += 8 {
			binary.LittleEndian.PutUint64(data[i:], rng.Uint64())
		}
		checkOneReadingProperty(t, data)
	}
}

// FuzzOneReading: the same property on the fuzzer's choices.
func FuzzOneReading(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{2, 3, 1, 5, 5, 4, 4, 1, 2, 5, 5, 0, 1, 1})
	f.Fuzz(checkOneReadingProperty)
}
