package egress

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolvePath(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "data")
	require.NoError(t, os.MkdirAll(filepath.Join(root, "notes"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(base, "data2"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(base, "secret"), []byte("s"), 0o600))
	require.NoError(t, os.Symlink(filepath.Join(base, "secret"), filepath.Join(root, "leak")))
	require.NoError(t, os.Symlink(base, filepath.Join(root, "up")))
	require.NoError(t, os.Symlink("notes", filepath.Join(root, "inside")))

	for in, want := range map[string]string{
		"notes/a.txt":                  filepath.Join(root, "notes/a.txt"),
		root + "/./b.txt":              filepath.Join(root, "b.txt"),
		root:                           root,
		"new-file-that-does-not-exist": filepath.Join(root, "new-file-that-does-not-exist"),
	} {
		f, err := ResolvePath(root, in)
		require.NoError(t, err, in)
		require.Equal(t, want, f.Path())
	}
	for _, in := range []string{
		"", "../x", root + "/../../etc/shadow", base + "/data2/x", base + "/database/x", "/etc/passwd", "a/../../b",
		"a\x00b", `..\x`, "leak", "up/secret", "up/data2/new", "%2e%2e/secret", "a%2Fb", "a\nb",
		// A symlink that stays inside still leads elsewhere than the path
		// the policy judges: inside/x is notes/x.
		"inside/x", "inside",
	} {
		_, err := ResolvePath(root, in)
		require.Error(t, err, "%q", in)
	}
	_, err := ResolvePath(filepath.Join(base, "missing-root"), "x")
	require.Error(t, err, "a root that does not exist denies")
}

// FuzzResolvePath: never panics; what it accepts is under the root
// lexically, carries no "..", goes through no symlink below the root, and
// resolving the result again gives the same path (a fixed point). Errors are the only other outcome — there is no
// accepted-but-outside.
func FuzzResolvePath(f *testing.F) {
	base := f.TempDir()
	root := filepath.Join(base, "data")
	if err := os.MkdirAll(filepath.Join(root, "notes"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(base, "data2"), 0o755); err != nil {
		f.Fatal(err)
	}
	for link, target := range map[string]string{"leak": "..", "abs": "/", "ok": "notes"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			f.Fatal(err)
		}
	}
	for _, s := range []string{"notes/a.txt", "../x", root + "/../data2/x", base + "/data2/x", "leak/data2", "abs/etc/passwd", "ok/x", "%2e%2e/x", "a\\..\\b", "/", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := ResolvePath(root, p)
		if err != nil {
			return
		}
		if !within(root, got.Path()) {
			t.Fatalf("%q accepted as %q, outside %s", p, got.Path(), root)
		}
		for _, part := range strings.Split(got.Path(), string(filepath.Separator)) {
			if part == ".." {
				t.Fatalf("%q accepted as %q with '..'", p, got.Path())
			}
		}
		if !strings.HasPrefix(got.Path(), root+string(filepath.Separator)) && got.Path() != root {
			t.Fatalf("%q accepted as %q, not below %s", p, got.Path(), root)
		}
		rel, _ := relWithin(root, got.Path())
		at := root
		for _, part := range strings.Split(rel, string(filepath.Separator)) {
			at = filepath.Join(at, part)
			if fi, err := os.Lstat(at); err == nil && fi.Mode()&os.ModeSymlink != 0 {
				t.Fatalf("%q accepted as %q, through the symlink %s", p, got.Path(), at)
			}
		}
		again, err := ResolvePath(root, got.Path())
		if err != nil || again != got {
			t.Fatalf("not a fixed point: %q → %+v → %+v (%v)", p, got, again, err)
		}
	})
}
