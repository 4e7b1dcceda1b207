package toolguard

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
		d, err := resolvePath(root, p)
		if err != nil {
			return
		}
		if d.Kind != "path" || !within(root, d.Path) {
			t.Fatalf("%q accepted as %q, outside %s", p, d.Path, root)
		}
		for _, part := range strings.Split(d.Path, string(filepath.Separator)) {
			if part == ".." {
				t.Fatalf("%q accepted as %q with '..'", p, d.Path)
			}
		}
		if !strings.HasPrefix(d.Path, root+string(filepath.Separator)) && d.Path != root {
			t.Fatalf("%q accepted as %q, not below %s", p, d.Path, root)
		}
		rel, _ := relWithin(root, d.Path)
		at := root
		for _, part := range strings.Split(rel, string(filepath.Separator)) {
			at = filepath.Join(at, part)
			if fi, err := os.Lstat(at); err == nil && fi.Mode()&os.ModeSymlink != 0 {
				t.Fatalf("%q accepted as %q, through the symlink %s", p, d.Path, at)
			}
		}
		again, err := resolvePath(root, d.Path)
		if err != nil || again != d {
			t.Fatalf("not a fixed point: %q → %+v → %+v (%v)", p, d, again, err)
		}
	})
}

// FuzzDestinations: input building from arbitrary JSON arguments never
// panics, and never yields destinations on error. Every destination it
// yields is canonical: a url destination re-derives to itself, an email
// host is a valid host, a path lies under its root, an argv destination is
// flagged exactly when its value begins with '-'.
func FuzzDestinations(f *testing.F) {
	root := f.TempDir()
	decls := []Dest{URLArg("url"), URLArg("req.urls"), EmailArg("to"), PathArg("path", root), ArgvArg("argv")}
	for _, s := range []string{
		`{"url":"https://docs.example.com/a"}`, `{"url":"http://0x7f.1/"}`, `{"req":{"urls":["https://a.example/",1]}}`,
		`{"to":"bob@example.com","argv":["-rf","x"]}`, `{"path":"../etc/passwd"}`, `{"url":{"href":"x"}}`,
		`{"url":"https://bücher.example/","argv":"--output=/x"}`, `{"url":"http://h/a%20b%3F"}`, `[1,2]`, `null`, `{"to":"a@[127.0.0.1]"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fr, err := freezeJSON(raw, nil)
		if err != nil {
			return
		}
		d, err := derive(decls, fr.decoded)
		ds := d.dests
		if err != nil {
			if ds != nil || d.files != nil {
				t.Fatalf("destinations on error: %+v", d)
			}
			return
		}
		for _, d := range ds {
			switch d.Kind {
			case "url":
				again, err := canonicalURL(urlOf(d))
				if err != nil || again != d {
					t.Fatalf("url destination %+v is not canonical: %+v (%v)", d, again, err)
				}
			case "email":
				if h, err := canonicalHost(d.Host); err != nil || h != d.Host {
					t.Fatalf("email host %q is not canonical (%q, %v)", d.Host, h, err)
				}
			case "path":
				if !within(root, d.Path) {
					t.Fatalf("path %q outside %s", d.Path, root)
				}
			case "argv":
			default:
				t.Fatalf("unknown kind %+v", d)
			}
		}
		// The same arguments re-encoded derive the same destinations: the
		// policy and the tool read one document.
		// Numbers stay exact, as the guard decodes them ("1e700" is no float64).
		dec := json.NewDecoder(bytes.NewReader(fr.raw))
		dec.UseNumber()
		var again any
		if err := dec.Decode(&again); err != nil {
			t.Fatal(err)
		}
		if d2, err := derive(decls, again); err != nil || len(d2.dests) != len(ds) {
			t.Fatalf("re-derivation differs: %v", err)
		}
	})
}
