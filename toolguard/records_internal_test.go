package toolguard

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var recordsKey = []byte("0123456789abcdef-records")

func TestRecordOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		n    int // record options handed to audit
	}{
		{"default: lenient, no values", nil, 0},
		{"strict", []Option{WithStrictAudit()}, 1},
		{"record args without key", []Option{WithRecordArgs(nil)}, 1},
		{"record args with key, strict", []Option{WithRecordArgs(recordsKey), nil, WithStrictAudit()}, 2},
		{"enrich framework spans", []Option{WithEnrichFrameworkSpans()}, 1},
		{"other options ignored", []Option{WithApprovalTimeout(time.Second)}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := configOf(tc.opts)
			require.Len(t, c.records, tc.n)
			require.NoError(t, c.err)
		})
	}
}

func TestRecordOptionErrors(t *testing.T) {
	for _, key := range [][]byte{{}, []byte("short")} {
		g, err := New(context.Background(), WithRecordArgs(key), WithStrictAudit())
		require.ErrorContains(t, err, "toolguard: WithRecordArgs")
		require.ErrorContains(t, err, "shorter than 16")
		require.Nil(t, g)
		c := configOf([]Option{WithRecordArgs(key)})
		require.Empty(t, c.records)
		require.Error(t, c.err)
	}
}

// configOf applies opts as New does, skipping nil ones.
func configOf(opts []Option) config {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}
