package toolguard

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard/egress"
)

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
				again, err := urlDestination(urlOf(d))
				if err != nil || again != d {
					t.Fatalf("url destination %+v is not canonical: %+v (%v)", d, again, err)
				}
			case "email":
				if h, err := egress.CanonicalHost(d.Host); err != nil || h != d.Host {
					t.Fatalf("email host %q is not canonical (%q, %v)", d.Host, h, err)
				}
			case "path":
				if d.Path != root && !strings.HasPrefix(d.Path, root+string(filepath.Separator)) {
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

// urlOf renders a url destination as a URL again.
func urlOf(d authz.Destination) string {
	return egress.URL{Scheme: d.Scheme, Host: d.Host, Port: d.Port, Path: d.Path}.String()
}
