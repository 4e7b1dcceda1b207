// Package proc starts the real servers that tests run against (SPIRE, Jaeger,
// OPA) as child processes, and stops them by PID when the test ends. Output
// goes to a log file; when a test fails, the tail of each log is printed,
// since that is where the reason usually is.
package proc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Proc is a running child process.
type Proc struct {
	Name string
	Log  string // path of its combined stdout/stderr (moved, and updated, when StartRetrying retries)

	cmd  *exec.Cmd
	done chan struct{}
	err  error
	once sync.Once
}

// Start runs bin with args, logging to dir/<name>.log, and registers Stop
// with t.Cleanup.
func Start(t testing.TB, dir, name, bin string, args []string, env ...string) *Proc {
	t.Helper()
	p, err := start(dir, name, bin, args, env)
	if err != nil {
		t.Fatalf("proc: %v", err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("--- tail of %s log (%s):\n%s", name, p.Log, TailFile(p.Log, 3000))
		}
	})
	return p
}

func start(dir, name, bin string, args, env []string) (*Proc, error) {
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Own process group, so a signal to the test does not race our Stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, Log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM, waits up to 30 s, then SIGKILL. Idempotent.
func (p *Proc) Stop() {
	p.once.Do(func() {
		if p.Exited() {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// Kill ends the process at once with SIGKILL, as a crash would.
func (p *Proc) Kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
}

// WaitFor polls check every interval until it succeeds, the process exits,
// or timeout passes.
func (p *Proc) WaitFor(timeout time.Duration, what string, check func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited while waiting for %s (%v); log tail:\n%s", p.Name, what, last, TailFile(p.Log, 2000))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s: %v", timeout, what, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proc: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Dial checks that something accepts TCP connections at addr.
func Dial(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// NoKeepAliveClient is an HTTP client for a harness's health checks and
// calls. It keeps no idle connections: their goroutines would outlive the
// test and fail the goleak check in the packages that use the harness.
func NoKeepAliveClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

// GetOK fetches each URL with c and wants 200 OK from every one: the health
// check the harnesses poll with WaitFor.
func GetOK(c *http.Client, urls ...string) error {
	for _, u := range urls {
		resp, err := c.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", u, resp.Status)
		}
	}
	return nil
}

// Run runs a short command (a CLI call against a server) and returns its
// output, failing with the output on error.
func Run(ctx context.Context, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// ShortTempDir makes a temp dir with a short path: unix socket paths are
// limited to about 100 bytes, and t.TempDir() names can be long.
func ShortTempDir(t testing.TB, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatalf("proc: temp dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// TailFile returns the last n bytes of a file.
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// StartRetrying calls start up to three times while the server it starts dies
// because a port is taken: FreePort's port can be grabbed by another process
// (other test packages run in parallel) between the check and the bind.
// Any other failure, or the third, fails the test. start may return a nil
// Proc with its error when no process was started.
func StartRetrying(t testing.TB, start func() (*Proc, error)) *Proc {
	t.Helper()
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var p *Proc
		p, err = start()
		if err == nil {
			return p
		}
		if p == nil { // start failed before there was a process
			break
		}
		p.Stop()
		lost := strings.Contains(TailFile(p.Log, 1<<16), "address already in use")
		// The next attempt logs afresh. p.Log follows the rename, so the
		// log tail Start prints when the test fails is still this
		// attempt's, not "no such file" or the next attempt's.
		renamed := fmt.Sprintf("%s.attempt%d", p.Log, attempt)
		if os.Rename(p.Log, renamed) == nil {
			p.Log = renamed
		}
		if !lost {
			break
		}
		t.Logf("proc: %s lost a port race (attempt %d); retrying on new ports", p.Name, attempt)
	}
	t.Fatalf("proc: %v", err)
	return nil
}
