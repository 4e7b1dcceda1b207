package authz_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

func TestShadowPolicyCountsFlipsAndNeverDecides(t *testing.T) {
	ctx := context.Background()
	// The candidate stops granting read_file and starts granting a tool the
	// enforced policy does not know.
	candidateData := []byte(`{"agents": {"` + quickstartAgent + `": {"tools": ["brand_new"], "hosts": []}}}`)
	eng, err := authz.New(ctx, authz.WithDataJSON([]byte(quickstartData)), authz.WithTimeout(testTimeout),
		authz.WithShadow(authz.PolicySet{Modules: authz.DefaultPolicy(), Data: candidateData, Source: "candidate"}))
	require.NoError(t, err)

	d, err := eng.Decide(ctx, readInput())
	require.NoError(t, err)
	require.True(t, d.Allow, "the enforced decision stands")
	require.NotNil(t, d.Shadow)
	require.False(t, d.Shadow.Allow)
	require.Equal(t, authz.FlipAllowToDeny, d.Shadow.Flip)
	require.Equal(t, "tool_not_granted", d.Shadow.Code)
	require.NotEqual(t, d.Revision, d.Shadow.Revision)

	in := readInput()
	in.Tool.Name = "brand_new"
	d, err = eng.Decide(ctx, in)
	require.NoError(t, err)
	require.False(t, d.Allow)
	require.Equal(t, authz.FlipDenyToAllow, d.Shadow.Flip)

	in.Tool.Name = "unknown"
	d, err = eng.Decide(ctx, in)
	require.NoError(t, err)
	require.Empty(t, d.Shadow.Flip, "both deny: no flip")

	st := eng.Stats()
	require.EqualValues(t, 1, st.ShadowAllowToDeny)
	require.EqualValues(t, 1, st.ShadowDenyToAllow)

	// A shadow that fails counts as deny, and never breaks the decision.
	require.NoError(t, eng.LoadShadow(ctx, authz.PolicySet{Modules: map[string]string{"s.rego": "package ztagent\ndecision := to_number(\"x\")"}}))
	d, err = eng.Decide(ctx, readInput())
	require.NoError(t, err)
	require.True(t, d.Allow)
	require.Equal(t, authz.FlipAllowToDeny, d.Shadow.Flip)
	require.Equal(t, authz.CodeEvalError, d.Shadow.Code)
	require.EqualValues(t, 1, eng.Stats().ShadowErrors)

	eng.ClearShadow()
	d, err = eng.Decide(ctx, readInput())
	require.NoError(t, err)
	require.Nil(t, d.Shadow)
}
