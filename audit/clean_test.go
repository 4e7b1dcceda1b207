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
	tr, rec := newTracer(t)
	for _, in := range []string{huge, "bad\xffutf8", strings.Repeat("a", 300)} {
		_, c := startCall(t, tr, context.Background(), audit.CallStart{Tool: "t", CallID: in})
		require.True(t, utf8.ValidString(c.ID()))
		require.LessOrEqual(t, len(c.ID()), 256)
	}
	_, c := startCall(t, tr, context.Background(), audit.CallStart{Tool: "t", CallID: "call_7"})
	require.Equal(t, "call_7", c.ID())
	_, c = startCall(t, tr, context.Background(), audit.CallStart{Tool: "t"})
	require.Regexp(t, `^ztagent_[0-9a-f]{16}$`, c.ID(), "a call with no id is given one")
	rec.Reset()

	ctx, turn := tr.StartTurn(context.Background(), audit.Turn{Model: huge, ConversationID: huge})
	turn.Proposed(huge, "tool\xff")
	turn.End()
	_, span := startCall(t, tr, ctx, audit.CallStart{Tool: "t", CallID: huge})
	span.End(context.Background(), audit.Outcome{Status: audit.StatusOK})
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
