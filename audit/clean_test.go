package audit_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/audit"
)

func TestHugeOrInvalidValuesAreBoundedAndValid(t *testing.T) {
	huge := strings.Repeat("é", 100_000) + "\xff\xfe"
	for _, in := range []string{huge, "bad\xffutf8", strings.Repeat("a", 300)} {
		out := audit.Clean(in)
		require.True(t, utf8.ValidString(out))
		require.LessOrEqual(t, len(out), 256)
	}
	require.Equal(t, "call_7", audit.Clean("call_7"))

	tr, rec := newTracer(t)
	ctx, turn := tr.StartTurn(context.Background(), audit.Turn{Model: huge, ConversationID: huge})
	turn.Proposed(huge, "tool\xff")
	turn.End()
	_, span := tr.StartToolCall(ctx, audit.ToolCall{Name: "t", CallID: huge})
	span.End(audit.Outcome{Status: audit.StatusOK})
	for _, s := range rec.Ended() {
		require.LessOrEqual(t, len(s.Name()), 300)
		for _, kv := range s.Attributes() {
			v := kv.Value.String()
			require.True(t, utf8.ValidString(v), kv.Key)
			require.LessOrEqual(t, len(v), 1024, kv.Key)
		}
	}
	// The link still finds the proposing turn through the cleaned id.
	_, ok := audit.ProposedBy(ctx, huge)
	require.True(t, ok)
}
