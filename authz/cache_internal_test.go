package authz

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A decision cache is built only where Engine.cacheOf can use it: for the
// policy in force, and not when decision logs must see every decision.
func TestDecisionCacheBuiltOnlyWhereUsed(t *testing.T) {
	e, err := New(t.Context(), WithDecisionCache(8), WithShadow(PolicySet{Modules: DefaultPolicy()}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	require.NotNil(t, e.cur.Load().cache)
	require.Nil(t, e.shadow.Load().cache, "a shadow never serves from a cache")

	e.ClearShadow()
	require.NoError(t, e.Load(t.Context(), PolicySet{Modules: DefaultPolicy()}))
	require.NotNil(t, e.cur.Load().cache, "a reload of the policy in force gets one")

	logged, err := New(t.Context(), WithDecisionCache(8), WithDecisionLogs(DecisionLogConfig{URL: "http://127.0.0.1:1"}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = logged.Close() })
	require.Nil(t, logged.cur.Load().cache, "decision logs see every decision")
}
