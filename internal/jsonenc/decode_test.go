package jsonenc_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/jsonenc"
)

// decodeStd is encoding/json's reading of b, the one DecodeStrict must agree
// with whenever it accepts b.
func decodeStd(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func TestDecodeStrict(t *testing.T) {
	for _, in := range []string{
		`{"a":1,"b":[true,null,"s",{"c":12345678901234567890}],"d":{}}`,
		" \t\r\n[1, 2.50, -3e10] \n",
		`"x"`,
		`null`,
		`{"a":{"b":1},"b":{"b":2}}`, // the same key in different objects is fine
	} {
		got, err := jsonenc.DecodeStrict([]byte(in))
		require.NoError(t, err, in)
		want, err := decodeStd([]byte(in))
		require.NoError(t, err)
		require.Equal(t, want, got, in)
	}
	got, err := jsonenc.DecodeStrict([]byte(`{"n":1.0}`))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"n": json.Number("1.0")}, got, "numbers kept as written")
}

func TestDecodeStrictRefuses(t *testing.T) {
	tests := []struct {
		name, in string
		want     string
	}{
		{"trailing non-JSON", `{"a":1} x`, jsonenc.ErrTrailingData.Error()},
		{"trailing value", `{"a":1} {"a":2}`, jsonenc.ErrTrailingData.Error()},
		{"trailing close", `{"a":1}}`, jsonenc.ErrTrailingData.Error()},
		{"trailing after scalar", `1 2`, jsonenc.ErrTrailingData.Error()},
		{"duplicate key", `{"a":1,"a":2}`, `duplicate key "a"`},
		{"nested duplicate key", `[{"k":{"a":1,"a":1}}]`, `duplicate key "a"`},
		{"empty", ``, "EOF"},
		{"truncated", `{"a":`, ""},
		{"missing comma", `{"a":1 "b":2}`, "invalid character"},
		{"too deep", strings.Repeat("[", jsonenc.MaxDepth+2) + strings.Repeat("]", jsonenc.MaxDepth+2), "nested too deeply"},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", "invalid UTF-8"},
		{"lone high surrogate", `{"a":"\ud800x"}`, "lone UTF-16 surrogate"},
		{"lone low surrogate", `["\udfff"]`, "lone UTF-16 surrogate"},
		{"high then high", `["\ud83d\ud83d"]`, "lone UTF-16 surrogate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := jsonenc.DecodeStrict([]byte(tc.in))
			require.Error(t, err)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, v)
		})
	}
	_, err := jsonenc.DecodeStrict([]byte(`[] x`))
	require.ErrorIs(t, err, jsonenc.ErrTrailingData)
}

// Whatever DecodeStrict accepts, encoding/json reads the same way; whatever
// it refuses that encoding/json accepts as a whole has a duplicate key,
// invalid UTF-8 or a lone surrogate escape.
func FuzzDecodeStrict(f *testing.F) {
	f.Add([]byte(`{"a":[1,"x",null],"b":{"c":true}}`))
	f.Add([]byte(`{"a":1,"a":2}`))
	f.Add([]byte(`{"a":1} x`))
	f.Add([]byte(` 12.5e3 `))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := jsonenc.DecodeStrict(b)
		if err == nil {
			require.True(t, json.Valid(b), "%q", b)
			want, err := decodeStd(b)
			require.NoError(t, err)
			require.Equal(t, want, got)
			return
		}
		if json.Valid(b) {
			require.Regexp(t, "duplicate key|invalid UTF-8|lone UTF-16 surrogate", err.Error(), "%q", b)
		}
	})
}
