package authz

import (
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/stretchr/testify/require"
)

// parseDecision reads the term rego hands back (evalRawTerm); a Go value,
// even one that would convert to an allowing document, is refused.
func TestParseDecisionWantsATerm(t *testing.T) {
	d, err := parseDecision(ast.MustParseTerm(`{"allow": true}`))
	require.Nil(t, err)
	require.True(t, d.Allow)

	for _, v := range []any{map[string]any{"allow": true}, ast.MustParseTerm(`{"allow": true}`).Value, nil} {
		d, err := parseDecision(v)
		require.NotNil(t, err)
		require.Equal(t, CodeBadDecision, err.Code)
		require.False(t, d.Allow)
	}
}
