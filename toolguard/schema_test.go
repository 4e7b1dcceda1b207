package toolguard_test

import (
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
