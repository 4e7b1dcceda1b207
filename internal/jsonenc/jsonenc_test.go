package jsonenc_test

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/jsonenc"
)

func reference(t testing.TB, v any) ([]byte, error) {
	t.Helper()
	return jsonenc.Marshal(v)
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "a", `"\`, "\x00\x1f\x7f\b\f\n\r\t", "<>&", "é🙂", "\xff", "a\xc3", "\u2028\u2029", "\ufffd"} {
		want, err := reference(t, s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(jsonenc.AppendString(nil, s)), "%q", s)
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123.456, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		want, err := reference(t, f)
		require.NoError(t, err)
		got, err := jsonenc.AppendFloat(nil, f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%v", f)
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err := jsonenc.AppendFloat(nil, f)
		require.Error(t, err)
	}
}

func FuzzAppendMatchesEncodingJSON(f *testing.F) {
	f.Add("a\"\\\x00\xff\u2028", 1.5)
	f.Fuzz(func(t *testing.T, s string, x float64) {
		want, err := reference(t, s)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonenc.AppendString(nil, s); !bytes.Equal(want, got) {
			t.Fatalf("%q: json %s, ours %s", s, want, got)
		}
		want, werr := reference(t, x)
		got, gerr := jsonenc.AppendFloat(nil, x)
		if (werr == nil) != (gerr == nil) || werr == nil && !bytes.Equal(want, got) {
			t.Fatalf("%v: json %s (%v), ours %s (%v)", x, want, werr, got, gerr)
		}
	})
}

// AppendMarshal appends what Marshal returns, and leaves b as it was on error.
func TestAppendMarshal(t *testing.T) {
	v := map[string]any{"b": "<&>", "a": json.Number("1e700")}
	want, err := jsonenc.Marshal(v)
	require.NoError(t, err)
	got, err := jsonenc.AppendMarshal([]byte(`{"x":`), v)
	require.NoError(t, err)
	require.Equal(t, `{"x":`+string(want), string(got))
	require.Equal(t, `{"a":1e700,"b":"<&>"}`, string(want))
	got, err = jsonenc.AppendMarshal([]byte("keep"), func() {})
	require.Error(t, err)
	require.Equal(t, "keep", string(got))
}
