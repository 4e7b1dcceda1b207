package jsonenc_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/jsonenc"
)

// decodesInto reports whether encoding/json's Unmarshal reads key into a
// struct field tagged name (the only field, so no exact match elsewhere).
func decodesInto(t testing.TB, key, name string) bool {
	t.Helper()
	typ := reflect.StructOf([]reflect.StructField{{Name: "F", Type: reflect.TypeFor[string](), Tag: reflect.StructTag(`json:"` + name + `"`)}})
	v := reflect.New(typ)
	// AppendString writes invalid UTF-8 as U+FFFD, as the decoder reads it.
	doc := string(jsonenc.AppendString([]byte(`{`), key)) + `:"hit"}`
	require.NoError(t, json.Unmarshal([]byte(doc), v.Interface()), doc)
	return v.Elem().Field(0).String() == "hit"
}

// validTag is encoding/json's rule for a tag name it uses (others fall back
// to the Go field name): letters, digits and some punctuation.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

func TestFoldNameMatchesEncodingJSON(t *testing.T) {
	for _, c := range []struct {
		key, name string
		same      bool
	}{
		{"url", "url", true},
		{"URL", "url", true},
		{"uRl", "url", true},
		{"addreſs", "address", true}, // U+017F folds to s
		{"ADDREſS", "address", true},
		{"lin\u212a", "link", true},  // U+212A Kelvin sign folds to k
		{"Straße", "STRASSE", false}, // no full case folding
		{"ǅ", "ǆ", true},             // titlecase digraph
		{"url ", "url", false},
		{"ur1", "url", false},
		{"Σ", "ς", true},
	} {
		require.Equal(t, c.same, jsonenc.FoldName(c.key) == jsonenc.FoldName(c.name), "%q ~ %q", c.key, c.name)
		require.Equal(t, c.same, jsonenc.EqualFoldName(c.key, c.name), "EqualFoldName(%q, %q)", c.key, c.name)
		require.Equal(t, c.same, decodesInto(t, c.key, c.name), "encoding/json on %q ~ %q", c.key, c.name)
	}
}

// FuzzFoldNameMatchesEncodingJSON: two names fold together exactly when
// encoding/json reads the one as the other.
func FuzzFoldNameMatchesEncodingJSON(f *testing.F) {
	f.Add("url", "URL")
	f.Add("address", "addreſs")
	f.Add("link", "lin\u212a")
	f.Add("σ", "Σ")
	f.Add("x\xff", "x\xfe")
	f.Fuzz(func(t *testing.T, key, name string) {
		if !validTag(name) {
			return
		}
		same := jsonenc.FoldName(key) == jsonenc.FoldName(name)
		require.Equal(t, same, jsonenc.EqualFoldName(key, name), "EqualFoldName(%q, %q)", key, name)
		require.Equal(t, same, decodesInto(t, key, name), "%q ~ %q", key, name)
	})
}
