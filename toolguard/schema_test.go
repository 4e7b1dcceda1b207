package toolguard_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/toolguard"
)

type Inner struct {
	Host string `json:"host"`
}

type Common struct {
	TraceID string `json:"trace_id"`
}

type schemaArgs struct {
	Common
	To      string            `json:"to"`
	CC      []string          `json:"cc,omitempty"`
	Target  *Inner            `json:"target"`
	Hops    []Inner           `json:"hops"`
	Meta    map[string]string `json:"meta"`
	Extra   any               `json:"extra"`
	Skipped string            `json:"-"`
	NoTag   int
	hidden  string
	Self    *schemaArgs `json:"self"`
}

func TestArgSchemaOf(t *testing.T) {
	s := toolguard.ArgSchemaOf[schemaArgs]("send")
	require.Equal(t, "send", s.Tool)
	for _, f := range []string{"trace_id", "to", "cc", "target", "target.host", "hops", "hops.host", "meta", "meta.*", "extra", "extra.*", "NoTag", "self", "self.to"} {
		require.Contains(t, s.Fields, f)
	}
	for _, f := range []string{"Skipped", "hidden", "Common"} {
		require.NotContains(t, s.Fields, f)
	}
	_ = schemaArgs{}.hidden
}

type stamp struct{ unix int64 }

func (stamp) MarshalJSON() ([]byte, error) { return []byte(`0`), nil }

type promoted struct {
	Name string `json:"name"`
	Deep string `json:"deep"`
}

type encodedArgs struct {
	promoted
	Name  string          `json:"name"` // hides promoted.Name, as encoding/json does
	Raw   json.RawMessage `json:"raw"`
	Stamp stamp           `json:"stamp"`
}

// Arguments whose JSON is not their Go fields (raw JSON, a marshaler) accept
// anything below them, as the linter reads them for Input.
func TestArgSchemaOfFollowsEncodingJSON(t *testing.T) {
	s := toolguard.ArgSchemaOf[encodedArgs]("t")
	require.ElementsMatch(t, []string{"deep", "name", "raw", "raw.*", "stamp", "stamp.*"}, s.Fields)
	_ = stamp{}.unix
}

// Arguments that are themselves free-form (a map, raw JSON) allow any field:
// "*", so the linter does not report every field the policy reads.
func TestArgSchemaOfFreeFormArguments(t *testing.T) {
	require.Equal(t, []string{"*"}, toolguard.ArgSchemaOf[map[string]any]("t").Fields)
	require.Equal(t, []string{"*"}, toolguard.ArgSchemaOf[json.RawMessage]("t").Fields)
}
