package jsonshape_test

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/jsonshape"
)

type inner struct {
	URL    string `json:"url"`
	Shared string
	Tie    string
	Deep   string
}

type other struct {
	Shared string `json:"Shared"` // tagged: wins over inner's untagged one
	Tie    string
}

type deeper struct{ inner }

type outer struct {
	inner
	other
	deeper                         // Deep is at depth 2 here, hidden by inner's at depth 1
	Links  []struct{ Href string } `json:"links"`
	Raw    json.RawMessage         `json:"raw"`
	Opts   map[string]int          `json:"opts"`
	Any    any                     `json:"any"`
	When   time.Time               `json:"when"`
	Bytes  []byte                  `json:"bytes"`
	Fixed  [2]byte                 `json:"fixed"`
	Skip   string                  `json:"-"`
	hidden string
}

// TestOfMatchesEncodingJSON: the keys a struct's shape lists are the keys
// encoding/json writes for it.
func TestOfMatchesEncodingJSON(t *testing.T) {
	b, err := json.Marshal(outer{hidden: "x"})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	s := jsonshape.Of(reflect.TypeFor[outer]())
	require.Equal(t, jsonshape.Object, s.Kind)
	require.Equal(t, slices.Sorted(maps.Keys(m)), slices.Sorted(maps.Keys(s.Fields)))
	require.NotContains(t, s.Fields, "Tie", "two untagged fields at one depth are both dropped")

	for name, want := range map[string]jsonshape.Kind{
		"links": jsonshape.Array, "raw": jsonshape.Raw, "opts": jsonshape.Map, "any": jsonshape.Any,
		"when": jsonshape.String, "bytes": jsonshape.String, "fixed": jsonshape.Array, "url": jsonshape.String,
	} {
		require.Equal(t, want, s.Fields[name].Kind, name)
	}
	require.Equal(t, "string (base64 bytes)", s.Fields["bytes"].What)
	require.Equal(t, jsonshape.Object, s.Fields["links"].Elem.Kind)
	require.Contains(t, s.Fields["links"].Elem.Fields, "Href")
	require.Equal(t, jsonshape.Number, s.Fields["opts"].Elem.Kind)
}

type node struct {
	Name     string  `json:"name"`
	Children []*node `json:"children"`
}

type custom struct{}

func (custom) MarshalJSON() ([]byte, error) { return []byte(`{}`), nil }

func TestOfRecursiveAndCustom(t *testing.T) {
	s := jsonshape.Of(reflect.TypeFor[*node]())
	require.Same(t, s, s.Fields["children"].Elem, "a recursive type refers to itself")
	require.Equal(t, jsonshape.Custom, jsonshape.Of(reflect.TypeFor[custom]()).Kind)
	require.Equal(t, jsonshape.Custom, jsonshape.Of(reflect.TypeFor[struct{ C custom }]()).Fields["C"].Kind)
}
