package authz_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

// allowIf is a tiny policy whose verdict depends on data.open, so a reload
// is visible in decisions.
const allowIf = `package ztagent

default decision := {"allow": false, "reasons": [{"code": "closed", "message": "closed"}]}

decision := {"allow": true, "reasons": [{"code": "open", "message": "open"}]} if data.open == true
`

func writePolicyDir(t *testing.T, dir, rego, data string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	if rego != "" {
		writeAtomically(t, filepath.Join(dir, "policy.rego"), rego)
	}
	writeAtomically(t, filepath.Join(dir, "data.json"), data)
}

// writeAtomically writes path through a file beside its directory renamed
// into place, so that a reload tick never sees it empty or half written
// (a spurious failure where the test counts them).
func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(filepath.Dir(path)), ".write-*")
	require.NoError(t, err)
	_, err = f.WriteString(content)
	require.NoError(t, errors.Join(err, f.Chmod(0o644), f.Close()))
	require.NoError(t, os.Rename(f.Name(), path))
}

type events struct {
	mu  sync.Mutex
	evs []authz.ReloadEvent
}

func (e *events) add(ev authz.ReloadEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

func (e *events) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.evs)
}

func (e *events) last() authz.ReloadEvent {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.evs[len(e.evs)-1]
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 10*time.Millisecond, what)
}

func TestPolicyDirHotReload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "policy")
	writePolicyDir(t, dir, allowIf, `{"open": false}`)
	var evs events
	eng, err := authz.New(context.Background(), authz.WithPolicyDir(dir), authz.WithReloadInterval(10*time.Millisecond),
		authz.WithTimeout(testTimeout), authz.WithReloadHook(evs.add))
	require.NoError(t, err)
	defer eng.Close()
	ctx := context.Background()
	d, err := eng.Decide(ctx, readInput())
	require.NoError(t, err)
	require.False(t, d.Allow)
	rev1 := d.Revision

	// A good change is picked up and attributed to a new revision.
	writePolicyDir(t, dir, "", `{"open": true}`)
	eventually(t, "reload", func() bool { return eng.Revision() != rev1 })
	d, err = eng.Decide(ctx, readInput())
	require.NoError(t, err)
	require.True(t, d.Allow)
	rev2 := d.Revision
	require.NoError(t, evs.last().Err)
	require.Equal(t, rev1, evs.last().Previous)

	// A broken change is rejected, reported with file and line, and the last
	// good policy keeps serving.
	writeAtomically(t, filepath.Join(dir, "policy.rego"), "package ztagent\n\ndecision := {\n")
	eventually(t, "failure report", func() bool { return eng.Stats().ReloadFailures == 1 })
	require.ErrorContains(t, eng.LastReloadError(), "policy.rego:")
	require.Equal(t, rev2, eng.Revision())
	d, err = eng.Decide(ctx, readInput())
	require.NoError(t, err)
	require.True(t, d.Allow)

	// The directory vanishes (renamed away in one step, so no tick sees it
	// half deleted): reported once, last good policy serves.
	require.NoError(t, os.Rename(dir, dir+".gone"))
	eventually(t, "vanish report", func() bool { return eng.Stats().ReloadFailures == 2 })
	time.Sleep(50 * time.Millisecond)
	require.EqualValues(t, 2, eng.Stats().ReloadFailures, "a missing directory is reported once")
	require.Equal(t, rev2, eng.Revision())

	// It comes back with a policy that denies again.
	writePolicyDir(t, dir, allowIf, `{"open": false}`)
	eventually(t, "reload after return", func() bool { return eng.Revision() == rev1 })
	d, err = eng.Decide(ctx, readInput())
	require.NoError(t, err)
	require.False(t, d.Allow)

	require.NoError(t, eng.Close())
	require.NoError(t, eng.Close())
}

// tickingClock reads a second later at every reading, so two readings of
// it tell which came first.
type tickingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// A reload event says, on the engine's clock, when the attempt started and
// when the new policy took effect, which is after it was compiled; a
// refused candidate never took effect.
func TestReloadEventSaysWhenThePolicyTookEffect(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clk := &tickingClock{t: t0}
	var evs events
	eng, err := authz.New(context.Background(), authz.WithModule("p.rego", allowIf), authz.WithTimeout(testTimeout),
		authz.WithClock(clk.Now), authz.WithReloadHook(evs.add))
	require.NoError(t, err)
	defer eng.Close()
	first := evs.last()
	require.NoError(t, first.Err)
	require.Equal(t, t0.Add(time.Second), first.Time, "the attempt starts at the first reading")
	require.Equal(t, t0.Add(2*time.Second), first.EffectiveAt, "in force after it compiled")

	ps := authz.PolicySet{Modules: map[string]string{"p.rego": allowIf}, Data: []byte(`{"open": true}`), Source: "test"}
	require.NoError(t, eng.Load(context.Background(), ps))
	ev := evs.last()
	require.True(t, ev.EffectiveAt.After(ev.Time))
	require.True(t, ev.Time.After(first.EffectiveAt))
	require.Equal(t, eng.Revision(), ev.Revision)

	ps.Modules["p.rego"] = "package ztagent\n\ndecision := {\n"
	require.Error(t, eng.Load(context.Background(), ps))
	bad := evs.last()
	require.Error(t, bad.Err)
	require.True(t, bad.Time.After(ev.EffectiveAt), "stamped by the engine's clock")
	require.True(t, bad.EffectiveAt.IsZero(), "a refused policy never took effect")
	require.Equal(t, ev.Revision, bad.Revision)
}

func TestNewRejectsBadPolicyDir(t *testing.T) {
	ctx := context.Background()
	empty := t.TempDir()
	broken := t.TempDir()
	writePolicyDir(t, broken, "package ztagent\ndecision := {", `{}`)
	badData := t.TempDir()
	writePolicyDir(t, badData, allowIf, `{"open": `)
	file := filepath.Join(t.TempDir(), "f.rego")
	require.NoError(t, os.WriteFile(file, []byte(allowIf), 0o644))
	for name, opts := range map[string][]authz.Option{
		"missing":        {authz.WithPolicyDir(filepath.Join(empty, "nope"))},
		"no rego":        {authz.WithPolicyDir(empty)},
		"not a dir":      {authz.WithPolicyDir(file)},
		"does not parse": {authz.WithPolicyDir(broken)},
		"bad data":       {authz.WithPolicyDir(badData)},
		"with modules":   {authz.WithPolicyDir(broken), authz.WithModule("x.rego", allowIf)},
		"zero interval":  {authz.WithPolicyDir(broken), authz.WithReloadInterval(0)},
	} {
		t.Run(name, func(t *testing.T) {
			eng, err := authz.New(ctx, opts...)
			require.Error(t, err)
			require.Nil(t, eng)
		})
	}
}

// A reload during a thousand concurrent decisions: every decision is made
// under exactly one of the revisions, and its verdict is that revision's.
func TestReloadDuringConcurrentDecisions(t *testing.T) {
	ctx := context.Background()
	closed := authz.PolicySet{Modules: map[string]string{"p.rego": allowIf}, Data: []byte(`{"open": false}`), Source: "closed"}
	open := authz.PolicySet{Modules: map[string]string{"p.rego": allowIf}, Data: []byte(`{"open": true}`), Source: "open"}
	eng, err := authz.New(ctx, authz.WithModule("p.rego", allowIf), authz.WithData(map[string]any{"open": false}), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	revClosed := eng.Revision()
	require.NoError(t, eng.Load(ctx, open))
	revOpen := eng.Revision()
	require.NotEqual(t, revClosed, revOpen)

	var wg sync.WaitGroup
	var bad atomic.Int32
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // flip the policy back and forth while decisions run
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ps := closed
			if i%2 == 1 {
				ps = open
			}
			if err := eng.Load(ctx, ps); err != nil {
				bad.Add(1)
			}
		}
	}()
	var decisions sync.WaitGroup
	for range 1000 {
		decisions.Add(1)
		go func() {
			defer decisions.Done()
			d, err := eng.Decide(ctx, readInput())
			switch {
			case err != nil:
				bad.Add(1)
			case d.Revision == revOpen && d.Allow, d.Revision == revClosed && !d.Allow:
			default:
				bad.Add(1) // a verdict not matching its revision
			}
		}()
	}
	decisions.Wait()
	close(stop)
	wg.Wait()
	require.Zero(t, bad.Load())
	require.Greater(t, eng.Stats().Reloads, uint64(2))
}

func TestLoadRejectsBadSetsAndKeepsServing(t *testing.T) {
	ctx := context.Background()
	eng, err := authz.New(ctx, authz.WithDataJSON([]byte(quickstartData)), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	rev := eng.Revision()
	for name, ps := range map[string]authz.PolicySet{
		"no modules":     {},
		"only tests":     {Modules: map[string]string{"a_test.rego": allowIf}},
		"does not parse": {Modules: map[string]string{"a.rego": "package ztagent\nallow if {"}},
		"unsafe builtin": {Modules: map[string]string{"a.rego": "package ztagent\nx := http.send({})"}},
		"bad data":       {Modules: map[string]string{"a.rego": allowIf}, Data: []byte("[1]")},
		"empty name":     {Modules: map[string]string{"": allowIf}},
	} {
		t.Run(name, func(t *testing.T) {
			require.Error(t, eng.Load(ctx, ps))
			require.Equal(t, rev, eng.Revision())
			d, err := eng.Decide(ctx, readInput())
			require.NoError(t, err)
			require.True(t, d.Allow)
		})
	}
}
