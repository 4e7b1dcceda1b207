package toolguard

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

func TestCanonicalURL(t *testing.T) {
	ok := []struct {
		in, host string
		port     int
		path     string
	}{
		{"https://Docs.Example.COM./a/../b", "docs.example.com", 443, "/b"},
		{"http://example.com", "example.com", 80, "/"},
		{"https://example.com:8443/x", "example.com", 8443, "/x"},
		{"https://127.0.0.1/", "127.0.0.1", 443, "/"},
		{"https://[::ffff:127.0.0.1]/", "127.0.0.1", 443, "/"}, // IPv4-mapped IPv6 is the IPv4 address
		{"https://[2001:DB8::1]/", "2001:db8::1", 443, "/"},
		{"  https://example.com/  ", "example.com", 443, "/"},
	}
	for _, tc := range ok {
		t.Run(tc.in, func(t *testing.T) {
			d, err := canonicalURL(tc.in)
			require.NoError(t, err)
			require.Equal(t, authz.Destination{Kind: "url", Scheme: d.Scheme, Host: tc.host, Port: tc.port, Path: tc.path}, d)
		})
	}
	bad := []string{
		"", "example.com", "ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)",
		"https://user:pw@example.com/", "https://example.com@evil.example/",
		"http://0x7f.1/", "http://0x7f000001/", "http://2130706433/", "http://017700000001/", "http://127.1/",
		"https://bücher.example/", "https://exa mple.com/", "https://example.com:0/", "https://example.com:99999/",
		"https://[fe80::1%25eth0]/", "https://.example.com/", "https://example..com/", "https:///path",
	}
	for _, in := range bad {
		t.Run("bad "+in, func(t *testing.T) {
			_, err := canonicalURL(in)
			require.Error(t, err)
		})
	}
}

func TestCanonicalEmail(t *testing.T) {
	d, err := canonicalEmail("Bob <bob@Mail.Example.COM>")
	require.NoError(t, err)
	require.Equal(t, authz.Destination{Kind: "email", Host: "mail.example.com", Address: "bob@mail.example.com"}, d)
	for _, in := range []string{"", "bob", "bob@", "bob@[127.0.0.1]", "bob@0x7f.1", "a@b@evil.example, c@example.com"} {
		_, err := canonicalEmail(in)
		require.Error(t, err, in)
	}
}

func TestResolvePath(t *testing.T) {
	d, err := resolvePath("/srv/data", "notes/a.txt")
	require.NoError(t, err)
	require.Equal(t, "/srv/data/notes/a.txt", d.Path)
	d, err = resolvePath("/srv/data/", "/srv/data/./b.txt")
	require.NoError(t, err)
	require.Equal(t, "/srv/data/b.txt", d.Path)
	for _, in := range []string{"", "../x", "/srv/data/../../etc/shadow", "/srv/database/x", "/etc/passwd", "a/../../b", "a\x00b", `..\x`} {
		_, err := resolvePath("/srv/data", in)
		require.Error(t, err, "%q", in)
	}
}

func TestDestinationsFieldShapes(t *testing.T) {
	decls := []Dest{URLArg("req.urls"), EmailArg("to")}
	ds, err := destinations(decls, map[string]any{
		"req": map[string]any{"urls": []any{"https://a.example/", "https://b.example/"}},
		"to":  "x@example.com",
	})
	require.NoError(t, err)
	require.Len(t, ds, 3)
	ds, err = destinations(decls, map[string]any{})
	require.NoError(t, err)
	require.Empty(t, ds)
	for _, args := range []any{
		map[string]any{"to": 42.0},
		map[string]any{"req": map[string]any{"urls": []any{"https://a.example/", 1.0}}},
		map[string]any{"to": "not an address"},
	} {
		_, err := destinations(decls, args)
		require.Error(t, err, fmt.Sprint(args))
	}
}

// FuzzCanonicalURL: never panics, and what it accepts is a fixed point — the
// canonical form, fed back, gives the same destination.
func FuzzCanonicalURL(f *testing.F) {
	for _, s := range []string{"https://example.com/a/../b", "http://0x7f.1/", "https://[::ffff:7f00:1]/", "https://u@h/", "http://h:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := canonicalURL(in)
		if err != nil {
			return
		}
		host := d.Host
		if d.Host != "" && d.Host[0] != '[' && containsColon(d.Host) {
			host = "[" + d.Host + "]"
		}
		again, err := canonicalURL(fmt.Sprintf("%s://%s:%d%s", d.Scheme, host, d.Port, d.Path))
		if err != nil {
			t.Fatalf("canonical form %+v of %q does not parse: %v", d, in, err)
		}
		if again != d {
			t.Fatalf("not a fixed point: %q → %+v → %+v", in, d, again)
		}
	})
}

func containsColon(s string) bool {
	for i := range len(s) {
		if s[i] == ':' {
			return true
		}
	}
	return false
}

// FuzzFreezeJSON: never panics; accepted input is canonical after one pass.
func FuzzFreezeJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1.50,"x"]}`, `{}`, `[1,2]`, `{"a":1} {"a":2}`, `nul`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, err := freezeJSON(in)
		if err != nil {
			return
		}
		again, err := freezeJSON(fr.raw)
		if err != nil || string(again.raw) != string(fr.raw) || again.digest != fr.digest {
			t.Fatalf("canonical form is not stable: %q → %q (%v)", in, again.raw, err)
		}
	})
}
