package toolguard

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type rtInner struct {
	N     int64             `json:"n"`
	F     float64           `json:"f"`
	F32   float32           `json:"f32"`
	B     []byte            `json:"b"`
	M     map[string]uint16 `json:"m,omitempty"`
	Ptr   *string           `json:"ptr"`
	Arr   [2]bool           `json:"arr"`
	hide  int
	Skip  chan int `json:"-"`
	Under string   `json:"under_score"`
}

type rtNode struct {
	Name string  `json:"name"`
	Next *rtNode `json:"next,omitempty"`
}

type rtEmbed struct {
	rtInner
	Extra []rtInner `json:"extra"`
	Node  rtNode    `json:"node"`
}

type rtMarshaler struct{ V string }

func (m rtMarshaler) MarshalJSON() ([]byte, error) { return json.Marshal("x" + m.V) }

type rtTextKey string

func (k rtTextKey) MarshalText() ([]byte, error) { return []byte("k" + string(k)), nil }

func TestRoundTripSafe(t *testing.T) {
	for _, typ := range []reflect.Type{
		reflect.TypeFor[string](), reflect.TypeFor[rtInner](), reflect.TypeFor[rtNode](),
		reflect.TypeFor[rtEmbed](), reflect.TypeFor[*rtEmbed](), reflect.TypeFor[map[string][]rtNode](),
	} {
		require.True(t, roundTripSafe(typ), typ.String())
	}
	for _, v := range []any{
		struct{ X any }{}, struct{ T time.Time }{}, struct{ N json.Number }{},
		struct {
			N int `json:"n,string"`
		}{},
		struct{ M rtMarshaler }{}, map[int]string{}, map[rtTextKey]string{},
		struct{ C complex128 }{}, struct{ R json.RawMessage }{},
		struct {
			Next *struct{ X any }
		}{},
	} {
		require.False(t, roundTripSafe(reflect.TypeOf(v)), "%T", v)
	}
	type rec struct {
		Self []rec
		X    any
	}
	require.False(t, roundTripSafe(reflect.TypeFor[rec]()), "recursive type with an interface")
}

// For a type roundTripSafe accepts, skipping the second marshal gives what
// the full check gives, and the full check would have passed.
func TestFreezeValueLosslessMatchesFullCheck(t *testing.T) {
	s := "p\xffq<&>"
	values := []rtEmbed{
		{},
		{rtInner: rtInner{N: math.MaxInt64, F: 0.1, F32: 1.0 / 3, B: []byte{0, 1, 255}, M: map[string]uint16{"b": 2, "a": 1}, Ptr: &s, Arr: [2]bool{true, false}, hide: 7, Under: "\u2028 \"x\" \xe2"}},
		{rtInner: rtInner{F: math.Copysign(0, -1), F32: math.MaxFloat32}, Extra: []rtInner{{N: -1}, {F: 1e300}}, Node: rtNode{Name: "a", Next: &rtNode{Name: "b"}}},
	}
	require.True(t, roundTripSafe(reflect.TypeFor[rtEmbed]()))
	for i, v := range values {
		fast, ff, err := freezeValue(nil, v, true)
		require.NoError(t, err, i)
		full, fs, err := freezeValue(nil, v, false)
		require.NoError(t, err, i)
		require.Equal(t, full, fast, i)
		require.Equal(t, fs.raw, ff.raw, i)
		require.Equal(t, fs.digest, ff.digest, i)
		// The skipped check: the copy's JSON canonicalizes to the same digest.
		again, err := json.Marshal(fast)
		require.NoError(t, err)
		g, err := freezeJSON(again, nil)
		require.NoError(t, err)
		require.Equal(t, ff.digest, g.digest, "the skipped check would have passed (%d)", i)
	}
}

// Nothing but JSON whitespace may follow the arguments.
func TestFreezeJSONRefusesTrailingData(t *testing.T) {
	for _, in := range []string{`{} x`, `{} {}`, "{}\v", `{}]`, `1 2`, "{}\u00a0"} {
		_, err := freezeJSON([]byte(in), nil)
		require.Error(t, err, "%q", in)
	}
	for _, in := range []string{`{}`, " {} \t\r\n", `"s"  `} {
		_, err := freezeJSON([]byte(in), nil)
		require.NoError(t, err, "%q", in)
	}
}

// The freezer's memory never changes a result: the same bytes freeze to what
// freezeJSON gives, errors are not remembered, and every call still gets its
// own copy of typed arguments.
func TestFreezerRemembersOnlyWhatFreezeJSONGives(t *testing.T) {
	var fz freezer
	inputs := []string{`{"b":1,"a":[1.50,"x"]}`, `{"url":"https://docs.example.com/"}`, `[1,2]`, `"s"`, `{"a":`, `{} x`, `{} {}`, "{}\v", `{"n":1e400}`, " {} \n"}
	for range 3 {
		for _, in := range inputs {
			want, werr := freezeJSON([]byte(in), nil)
			got, gerr := fz.freezeJSON([]byte(in))
			require.Equal(t, werr == nil, gerr == nil, in)
			require.Equal(t, want, got, in)
		}
	}
	fz.mu.RLock()
	require.Len(t, fz.m, 6, "only the arguments that froze are remembered")
	fz.mu.RUnlock()

	type args struct{ Tags map[string]string }
	a1, _, err := freezeValue(&fz, args{Tags: map[string]string{"k": "v"}}, true)
	require.NoError(t, err)
	a2, _, err := freezeValue(&fz, args{Tags: map[string]string{"k": "v"}}, true)
	require.NoError(t, err)
	a1.Tags["k"] = "changed by the first tool call"
	require.Equal(t, "v", a2.Tags["k"], "calls share no argument memory")
}

func TestFreezerIsBounded(t *testing.T) {
	var fz freezer
	for i := range freezeEntries*2 + 3 {
		_, err := fz.freezeJSON(fmt.Appendf(nil, `{"i":%d}`, i))
		require.NoError(t, err)
	}
	big := fmt.Appendf(nil, `{"s":%q}`, strings.Repeat("x", freezeMaxBytes))
	_, err := fz.freezeJSON(big)
	require.NoError(t, err)
	fz.mu.RLock()
	defer fz.mu.RUnlock()
	require.LessOrEqual(t, len(fz.m), freezeEntries)
	require.NotContains(t, fz.m, string(big))
}

// Destinations of remembered arguments are derived once when they depend on
// the arguments alone, and never remembered when a path is among them: a
// path's meaning changes with the file system.
func TestFreezerDerivesPureDestinationsOnce(t *testing.T) {
	raw := []byte(`{"url":"https://Docs.Example.com:443/a","to":"bob@example.com","argv":["-x","y"],"path":"a.txt"}`)
	pureDecls := []Dest{URLArg("url"), EmailArg("to"), ArgvArg("argv")}
	fz := newFreezer(pureDecls, nil, nil)
	require.True(t, fz.pure)
	f1, err := fz.freezeJSON(raw)
	require.NoError(t, err)
	f2, err := fz.freezeJSON(raw)
	require.NoError(t, err)
	require.NotNil(t, f1.derived)
	require.Same(t, f1.derived, f2.derived)
	wantD, err := derive(pureDecls, f1.decoded)
	require.NoError(t, err)
	want := wantD.dests
	for _, f := range []frozen{f1, f2} {
		got, err := f.destinations(pureDecls)
		require.NoError(t, err)
		require.Equal(t, want, got.dests)
		require.Len(t, got.described, len(want))
		require.Equal(t, "url:https://docs.example.com:443", "url:"+got.described[0])
	}

	withPath := append(pureDecls, PathArg("path", t.TempDir()))
	fz = newFreezer(withPath, nil, nil)
	require.False(t, fz.pure)
	f1, err = fz.freezeJSON(raw)
	require.NoError(t, err)
	require.Nil(t, f1.derived, "a path is resolved on every call")
	_, err = f1.destinations(withPath)
	require.NoError(t, err)

	// A derivation error is reported on every call, like the result.
	fz = newFreezer([]Dest{URLArg("url")}, nil, nil)
	bad := []byte(`{"url":"ftp://example.com/"}`)
	for range 2 {
		f, err := fz.freezeJSON(bad)
		require.NoError(t, err)
		_, err = f.destinations([]Dest{URLArg("url")})
		require.Error(t, err)
	}
}
