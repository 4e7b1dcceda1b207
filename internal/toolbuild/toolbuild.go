// Package toolbuild builds the real third-party programs that ztagent's tests
// run against (SPIRE, Jaeger, OPA, Hydra) from the Go module proxy, at the
// versions pinned by the tools modules under internal/tools, so that nothing
// has to be installed by hand and the library's own go.mod stays small.
//
// `go test ./...` runs packages in parallel, so each binary is built once,
// under a file lock, into a cache directory keyed by the tools module's
// go.mod and go.sum and the Go version. A cold build of SPIRE takes many
// minutes on two cores; a warm one is a stat.
package toolbuild

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// CacheEnv overrides the cache directory (default: the user cache dir).
const CacheEnv = "ZTAGENT_TOOLS_CACHE"

// Program is one binary of a tools module.
type Program struct {
	Module string // directory of the tools module, relative to the repository root
	Pkg    string // package path of the main package
	Name   string // binary name
	Tags   string // build tags, comma separated
}

// Require returns the path of p's binary, building it if needed. Under
// `go test -short` the test is skipped, except with CI=true; otherwise a build failure fails the
// test (never a skip: CI must not pass without the real component).
func Require(t testing.TB, p Program) string {
	t.Helper()
	// Under CI=true nothing skips, -short or not: a missing component there
	// is a failure.
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skipf("-short: not building %s", p.Name)
	}
	start := time.Now()
	path, built, err := Build(p)
	if err != nil {
		t.Fatalf("toolbuild: %v", err)
	}
	if built {
		t.Logf("toolbuild: built %s in %s", p.Name, time.Since(start).Round(time.Second))
	}
	return path
}

// Build returns the path of p's binary and whether this call built it.
func Build(p Program) (path string, built bool, err error) {
	root, err := RepoRoot()
	if err != nil {
		return "", false, err
	}
	modDir := filepath.Join(root, p.Module)
	key, err := cacheKey(modDir, p)
	if err != nil {
		return "", false, err
	}
	cache, err := cacheDir()
	if err != nil {
		return "", false, err
	}
	dir := filepath.Join(cache, p.Name+"-"+key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false, fmt.Errorf("cache dir: %w", err)
	}
	bin := filepath.Join(dir, p.Name)
	if fileExists(bin) {
		return bin, false, nil
	}

	unlock, err := lock(filepath.Join(dir, "build.lock"))
	if err != nil {
		return "", false, err
	}
	defer unlock()
	if fileExists(bin) { // another test process built it while we waited
		return bin, false, nil
	}
	tmp := bin + ".tmp"
	args := []string{"build", "-trimpath", "-o", tmp}
	if p.Tags != "" {
		args = append(args, "-tags", p.Tags)
	}
	args = append(args, p.Pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = modDir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", false, fmt.Errorf("building %s (%s in %s): %w\n%s", p.Name, p.Pkg, p.Module, err, tail(out.String(), 4000))
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", false, err
	}
	return bin, true, nil
}

// RepoRoot finds the repository from this source file's location, so tests
// in any package find the tools modules and the example configs.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("toolbuild: cannot locate source")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if !fileExists(filepath.Join(root, "go.mod")) {
		return "", fmt.Errorf("toolbuild: no go.mod at %s", root)
	}
	return root, nil
}

// cacheKey covers the tools module's go.mod and go.sum (the pinned third-party
// versions) and its own Go files (a program of ours, such as a test server),
// so that any change to what is built rebuilds it.
func cacheKey(modDir string, p Program) (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(modDir, f))
		if err != nil {
			return "", fmt.Errorf("toolbuild: tools module %s: %w", modDir, err)
		}
		h.Write(b)
	}
	err := filepath.WalkDir(modDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		b, err := os.ReadFile(path)
		fmt.Fprintf(h, "\x00%s\x00%d\x00", path[len(modDir):], len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("toolbuild: tools module %s: %w", modDir, err)
	}
	fmt.Fprintf(h, "\x00%s\x00%s\x00%s\x00%s/%s", p.Pkg, p.Tags, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func cacheDir() (string, error) {
	if d := os.Getenv(CacheEnv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("toolbuild: no cache dir (set %s): %w", CacheEnv, err)
	}
	return filepath.Join(d, "ztagent-tools"), nil
}

// lock takes an exclusive advisory lock, released by the returned func or
// by the kernel if the process dies.
func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("toolbuild: lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
