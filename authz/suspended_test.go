package authz_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

func TestSuspendedAndWatch(t *testing.T) {
	ctx := context.Background()
	var zero *authz.Engine
	require.Equal(t, authz.Suspended{}, zero.Suspended())
	zero.Watch(func(authz.ReloadEvent) {})() // no engine: nothing to watch, no panic

	eng, err := authz.New(ctx, authz.WithDataJSON([]byte(`{"suspended": {"agents": ["spiffe://a", "spiffe://a", {"x": 1}]}}`)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = eng.Close() })
	require.Equal(t, authz.Suspended{Agents: []string{"spiffe://a"}}, eng.Suspended())
	got := eng.Suspended()
	got.Agents[0] = "changed"
	require.Equal(t, "spiffe://a", eng.Suspended().Agents[0], "the caller's copy")

	var mu sync.Mutex
	var seen []authz.ReloadEvent
	stop := eng.Watch(func(ev authz.ReloadEvent) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, ev)
	})
	ps := authz.PolicySet{Modules: map[string]string{"p.rego": "package ztagent\ndecision := {\"allow\": false}"},
		Data: []byte(`{"suspended": {"tasks": ["t-9"]}}`)}
	require.NoError(t, eng.Load(ctx, ps))
	require.Equal(t, authz.Suspended{Tasks: []string{"t-9"}}, eng.Suspended())
	require.Error(t, eng.Load(ctx, authz.PolicySet{Modules: map[string]string{"p.rego": "not rego"}}))
	require.Equal(t, authz.Suspended{Tasks: []string{"t-9"}}, eng.Suspended(), "a rejected policy changes nothing")
	stop()
	require.NoError(t, eng.Load(ctx, ps))

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, seen, 2, "a load and a rejection, nothing after stop")
	require.NoError(t, seen[0].Err)
	require.Error(t, seen[1].Err)
}
