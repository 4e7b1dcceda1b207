package toolbuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// NodeProgram is a program from the npm registry: an npm tools module (a
// package.json with its package-lock.json) under internal/tools, and the
// script of one of its dependencies' executables.
type NodeProgram struct {
	Module string // directory of the npm tools module, relative to the repository root
	Bin    string // executable name, as node_modules/.bin names it
}

// RequireNode returns the command that runs p: node and the script's path.
// node (and npm) come from Debian's packages when missing (RequireDebian);
// the module is installed once with `npm ci`, under a file lock, into a
// cache directory keyed by its lock file and node's version. Under
// `go test -short` the test is skipped, except with CI=true; otherwise a
// failure fails the test, never skips it.
func RequireNode(t testing.TB, p NodeProgram) []string {
	t.Helper()
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skipf("-short: not installing %s", p.Bin)
	}
	node := RequireDebian(t, "node", "nodejs")
	npm := RequireDebian(t, "npm", "npm")
	start := time.Now()
	script, installed, err := installNode(node, npm, p)
	if err != nil {
		t.Fatalf("toolbuild: %v", err)
	}
	if installed {
		t.Logf("toolbuild: installed %s in %s", p.Bin, time.Since(start).Round(time.Second))
	}
	return []string{node, script}
}

func installNode(node, npm string, p NodeProgram) (script string, installed bool, err error) {
	root, err := RepoRoot()
	if err != nil {
		return "", false, err
	}
	mod := filepath.Join(root, p.Module)
	lockFile, err := os.ReadFile(filepath.Join(mod, "package-lock.json"))
	if err != nil {
		return "", false, fmt.Errorf("%s: %w (generate it with npm install --package-lock-only)", p.Module, err)
	}
	pkg, err := os.ReadFile(filepath.Join(mod, "package.json"))
	if err != nil {
		return "", false, err
	}
	ver, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "", false, fmt.Errorf("node --version: %w", err)
	}
	h := sha256.New()
	h.Write(pkg)
	h.Write([]byte{0})
	h.Write(lockFile)
	h.Write([]byte{0})
	h.Write(ver)
	cache, err := cacheDir()
	if err != nil {
		return "", false, err
	}
	dir := filepath.Join(cache, "npm", filepath.Base(p.Module)+"-"+hex.EncodeToString(h.Sum(nil))[:16])
	// Resolved (symlinks followed), so the script runs as node resolves it.
	bin := filepath.Join(dir, "node_modules", ".bin", p.Bin)
	done := filepath.Join(dir, ".installed")
	if fileExists(done) {
		script, err := filepath.EvalSymlinks(bin)
		return script, false, err
	}
	if err := os.MkdirAll(filepath.Join(cache, "npm"), 0o755); err != nil {
		return "", false, err
	}
	unlock, err := lock(dir + ".lock")
	if err != nil {
		return "", false, err
	}
	defer unlock()
	if !fileExists(done) { // another test process may have installed it meanwhile
		if err := os.RemoveAll(dir); err != nil {
			return "", false, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", false, err
		}
		for _, f := range []struct {
			name string
			body []byte
		}{{"package.json", pkg}, {"package-lock.json", lockFile}} {
			if err := os.WriteFile(filepath.Join(dir, f.name), f.body, 0o644); err != nil {
				return "", false, err
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "npm_config_cache="+filepath.Join(cache, "npm", ".npm-cache"))
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", false, fmt.Errorf("npm ci in %s: %w\n%s", p.Module, err, tail(string(out), 3000))
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			return "", false, err
		}
		installed = true
	}
	script, err = filepath.EvalSymlinks(bin)
	if err != nil {
		return "", false, fmt.Errorf("%s: no executable %s after npm ci: %w", p.Module, p.Bin, err)
	}
	return script, installed, nil
}
