package proc_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
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
	var lost []*proc.Proc
	p := proc.StartRetrying(t, func() (*proc.Proc, error) {
		attempts++
		if attempts < 3 {
			p := proc.Start(t, dir, "server", "/bin/sh", []string{"-c", "echo 'listen tcp 127.0.0.1:1: bind: address already in use'; exit 1"})
			lost = append(lost, p)
			return p, p.WaitFor(5*time.Second, "start", func() error { return errors.New("not yet") })
		}
		p := proc.Start(t, dir, "server", "/bin/sh", []string{"-c", "sleep 30"})
		return p, nil
	})
	require.Equal(t, 3, attempts)
	// A lost attempt's log was renamed and its Log follows it, so the tail
	// printed when a test fails is that attempt's own.
	require.Len(t, lost, 2)
	for i, l := range lost {
		require.Equal(t, filepath.Join(dir, fmt.Sprintf("server.log.attempt%d", i+1)), l.Log)
		require.Contains(t, proc.TailFile(l.Log, 1000), "address already in use")
	}
	require.NotContains(t, proc.TailFile(p.Log, 1000), "address already in use", "the last attempt logs afresh")
	require.False(t, p.Exited())
	p.Stop()
	require.True(t, p.Exited())
}

// fatalTB records Fatalf and ends the goroutine as testing.T does.
type fatalTB struct {
	testing.TB
	fatal string
}

func (f *fatalTB) Helper()                      {}
func (f *fatalTB) Logf(format string, a ...any) {}
func (f *fatalTB) Fatalf(format string, a ...any) {
	f.fatal = fmt.Sprintf(format, a...)
	runtime.Goexit()
}

// A start that fails before there is a process (nil, err) fails the test
// with its error instead of panicking on the nil Proc.
func TestStartRetryingNoProcess(t *testing.T) {
	ft := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		proc.StartRetrying(ft, func() (*proc.Proc, error) { return nil, errors.New("no binary") })
	}()
	<-done
	require.Equal(t, "proc: no binary", ft.fatal)
}
