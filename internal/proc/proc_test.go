package proc_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/proc"
)

// A server that loses a port race is started again on new ports; the third
// attempt here wins.
func TestStartRetryingPortRace(t *testing.T) {
	dir := t.TempDir()
	attempts := 0
	p := proc.StartRetrying(t, func() (*proc.Proc, error) {
		attempts++
		if attempts < 3 {
			p := proc.Start(t, dir, "server", "/bin/sh", []string{"-c", "echo 'listen tcp 127.0.0.1:1: bind: address already in use'; exit 1"})
			return p, p.WaitFor(5*time.Second, "start", func() error { return errors.New("not yet") })
		}
		p := proc.Start(t, dir, "server", "/bin/sh", []string{"-c", "sleep 30"})
		return p, nil
	})
	require.Equal(t, 3, attempts)
	require.False(t, p.Exited())
	p.Stop()
	require.True(t, p.Exited())
}
