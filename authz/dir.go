package authz

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ztagent/ztagent/internal/loop"
)

// dataFile is the data document in a policy directory.
const dataFile = "data.json"

// ReadPolicyDir reads a policy directory: every *.rego file below dir (tests,
// *_test.rego, excluded) and an optional data.json at its top. File names in
// the set are relative to dir, so errors and revisions do not depend on where
// the directory is mounted.
func ReadPolicyDir(dir string) (PolicySet, error) {
	ps := PolicySet{Modules: map[string]string{}, Source: "dir:" + dir}
	st, err := os.Stat(dir)
	if err != nil {
		return ps, fmt.Errorf("policy dir: %w", err)
	}
	if !st.IsDir() {
		return ps, fmt.Errorf("policy dir %s: not a directory", dir)
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		switch {
		case d.IsDir():
			if strings.HasPrefix(d.Name(), ".") && path != dir {
				return filepath.SkipDir // editors' and VCS folders
			}
			return nil
		case rel == dataFile:
			ps.Data, err = os.ReadFile(path)
			return err
		case strings.HasSuffix(d.Name(), ".rego") && !isRegoTest(d.Name()):
			b, err := os.ReadFile(path)
			ps.Modules[filepath.ToSlash(rel)] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		return ps, fmt.Errorf("policy dir: %w", err)
	}
	if len(ps.Modules) == 0 {
		return ps, fmt.Errorf("policy dir %s: no .rego files", dir)
	}
	return ps, nil
}

// fingerprint identifies the content of a policy set, to tell a change from
// a touch without compiling.
func fingerprint(ps PolicySet) string {
	n, err := ps.normalize()
	if err != nil {
		return "invalid: " + err.Error()
	}
	return revision(n.modules, n.canonical, "")
}

// watchDir polls dir and loads every change. Polling, not inotify: it works
// the same on every platform and on mounted volumes (ConfigMaps swap a
// symlink), and a policy change is not latency-critical. A change that does
// not compile is reported and the last good policy keeps serving; a
// directory that vanishes is reported the same way.
func (e *Engine) watchDir(ctx context.Context, dir string, every time.Duration, last string) {
	defer e.bg.Done()
	failed := false
	loop.Loop{Timers: e.timers}.Every(ctx, every, func(ctx context.Context) {
		ps, err := ReadPolicyDir(dir)
		if err != nil {
			if !failed { // report a missing directory once, not every tick
				rev := e.Revision()
				_ = e.reloadFailed(ReloadEvent{Time: e.now(), Source: "dir:" + dir, Previous: rev, Revision: rev,
					Err: errors.Join(errors.New("authz: reload"), err)})
			}
			failed = true
			return
		}
		failed = false
		fp := fingerprint(ps)
		if fp == last {
			return
		}
		last = fp
		_ = e.Load(ctx, ps) // reported through the hook, the stats and LastReloadError
	})
}
