package authz

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/fakeclock"
)

// The directory is looked at every reload interval of the engine's
// timers, never before, and a change found is loaded; Close ends the watch.
func TestPolicyDirIsPolledOnTheEngineTimers(t *testing.T) {
	const every = 2 * time.Second
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.rego")
	require.NoError(t, os.WriteFile(policy, []byte("package ztagent\n\ndecision := {\"allow\": false}\n"), 0o644))
	clk := fakeclock.New(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	reloaded := make(chan ReloadEvent, 1)
	eng, err := New(context.Background(), WithPolicyDir(dir), WithReloadInterval(every),
		WithReloadHook(func(ev ReloadEvent) { reloaded <- ev }),
		optionFunc(func(c *config) { c.timers = clk }))
	require.NoError(t, err)
	<-reloaded // the first load
	first := eng.Revision()
	clk.WaitArmed(1)

	require.NoError(t, os.WriteFile(policy, []byte("package ztagent\n\ndecision := {\"allow\": true}\n"), 0o644))
	clk.Advance(every - time.Nanosecond)
	require.Zero(t, clk.Ticks(), "no look before the interval")
	require.Equal(t, first, eng.Revision())
	clk.Advance(time.Nanosecond)
	ev := <-reloaded
	require.NoError(t, ev.Err)
	require.Equal(t, first, ev.Previous)
	require.NotEqual(t, first, ev.Revision)

	require.NoError(t, eng.Close())
	require.Zero(t, clk.Tickers(), "Close stopped the watch")
}
