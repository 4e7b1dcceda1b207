package toolbuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// RequireDebian returns the path of binary, installing Debian's package
// pkg with apt-get when it is missing, so that a test of a real server that
// is not a Go program (redis-server, chromium) needs nothing installed by
// hand. Installing needs root and apt-get; where they are missing, and
// under `go test -short`, the test is skipped — except with CI=true, where a
// missing component is a failure. Installs run one at a time across test
// processes, under a file lock.
func RequireDebian(t testing.TB, binary, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(binary); err == nil {
		return p
	}
	ci := os.Getenv("CI") == "true"
	skipOrFail := func(format string, args ...any) string {
		t.Helper()
		if ci {
			t.Fatalf("toolbuild: "+format, args...)
		}
		t.Skipf("toolbuild: "+format+" (set CI=true to make this a failure)", args...)
		return ""
	}
	if testing.Short() && !ci {
		return skipOrFail("-short: not installing %s", pkg)
	}
	if os.Geteuid() != 0 {
		return skipOrFail("%s is not installed and installing it needs root: apt-get install %s", binary, pkg)
	}
	aptGet, err := exec.LookPath("apt-get")
	if err != nil {
		return skipOrFail("%s is not installed and there is no apt-get to install %s", binary, pkg)
	}
	if err := installDebian(aptGet, binary, pkg); err != nil {
		return skipOrFail("%v", err)
	}
	p, err := exec.LookPath(binary)
	if err != nil {
		return skipOrFail("%s installed, but %s is not on PATH", pkg, binary)
	}
	t.Logf("toolbuild: installed %s (%s)", pkg, p)
	return p
}

func installDebian(aptGet, binary, pkg string) error {
	cache, err := cacheDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	unlock, err := lock(filepath.Join(cache, "apt.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := exec.LookPath(binary); err == nil {
		return nil // another test process installed it while we waited
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, aptGet, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("apt-get %v: %w\n%s", args, err, tail(string(out), 3000))
		}
		return nil
	}
	install := []string{"install", "-y", "-q", "--no-install-recommends", pkg}
	if run(install...) == nil {
		return nil
	}
	// The package lists may be missing or stale on a fresh machine.
	if err := run("update", "-q"); err != nil {
		return err
	}
	return run(install...)
}
