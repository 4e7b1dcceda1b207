package toolguard

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
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
		// Every IPv4 notation browsers and inet_aton accept is the address it names.
		{"http://0x7f.1/", "127.0.0.1", 80, "/"},
		{"http://0x7f000001/", "127.0.0.1", 80, "/"},
		{"http://2130706433/", "127.0.0.1", 80, "/"},
		{"http://017700000001/", "127.0.0.1", 80, "/"},
		{"http://127.1/", "127.0.0.1", 80, "/"},
		{"http://0177.0.0.01/", "127.0.0.1", 80, "/"},
		{"http://0x7F.0x0.0X0.0x1/", "127.0.0.1", 80, "/"},
		{"http://169.254.43518/", "169.254.169.254", 80, "/"},
		{"http://012.0.0.1/", "10.0.0.1", 80, "/"}, // leading zero is octal
		{"http://127.0.0.1./", "127.0.0.1", 80, "/"},
		{"http://0/", "0.0.0.0", 80, "/"},
		{"https://[::ffff:7f00:1]/", "127.0.0.1", 443, "/"},
		{"https://[::127.0.0.1]/", "::7f00:1", 443, "/"}, // a different address; egress judges its embedded IPv4
		{"https://[64:ff9b::7f00:1]/", "64:ff9b::7f00:1", 443, "/"},
		// IDNA: punycode, case and dot mapping as browsers do.
		{"https://bücher.example/", "xn--bcher-kva.example", 443, "/"},
		{"https://B%C3%BCcher.example/", "xn--bcher-kva.example", 443, "/"},
		{"https://ｅｘａｍｐｌｅ．ｃｏｍ/", "example.com", 443, "/"},
		{"https://example。com/", "example.com", 443, "/"},
		{"https://аpple.com/", "xn--pple-43d.com", 443, "/"}, // Cyrillic а: not apple.com
		{"https://xn--pple-43d.com/", "xn--pple-43d.com", 443, "/"},
		{"https://my_host.example/", "my_host.example", 443, "/"},
		// The path is decoded: the policy reads what the server reads.
		{"http://0/%20", "0.0.0.0", 80, "/ "},
		{"https://example.com/a%3Fb/%25", "example.com", 443, "/a?b/%"},
		{"https://example.com/r%C3%A9sum%C3%A9", "example.com", 443, "/résumé"},
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
		"http://0x100.1/", "http://256.0.0.1/", "http://1.2.3.4.5/", "http://4294967296/", "http://4294967423.0.0.1/",
		"http://08.0.0.1/", "http://0x7g.1/", "http://foo.0x10/", "http://example.123/",
		// White space around a URL: Go's client sends "/docs " as "/docs%20",
		// so a trimmed reading would judge another path than the one asked for.
		"https://example.com/docs ", "https://example.com/docs\n", "  https://example.com/", "\thttps://example.com/",
		"https://exa mple.com/", "https://example.com:0/", "https://example.com:99999/", "https://example.com:/",
		"https://[fe80::1%25eth0]/", "https://.example.com/", "https://example..com/", "https:///path",
		"https://%31%32%37.0.0.1/", "https://ex%25ample.com/", "https://example.com%2f@evil.example/",
		"http://evil.example\\@example.com/", "https://exam\tple.com/", "https://-lead.example/",
		"https://xn--zz.example/", "https://a\u200db.example/", "https://[::1/", "https://[1.2.3.4]/",
		// Encoded separators and dots: servers disagree on whether they split or climb.
		"https://example.com/public%2F..%2Fadmin", "https://example.com/public/%2e%2e/admin",
		"https://example.com/a%2fb", "https://example.com/%2E", "https://example.com/a%5Cb",
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
	for _, in := range []string{"o'brien+tag@example.com", "Ünal <ünal@bücher.example>", "a.b-c_d@example.com"} {
		_, err := canonicalEmail(in)
		require.NoError(t, err, in)
	}
	for _, in := range []string{
		"", "bob", "bob@", "bob@[127.0.0.1]", "bob@0x7f.1", "a@b@evil.example, c@example.com",
		// Addresses that mail parsers read two ways.
		`"evil@attacker.example"@example.com`, `"bob smith"@example.com`,
		"evil%attacker.example@example.com", "attacker.example!evil@example.com",
		`"bob@example.com" <evil@attacker.example>`, "=?utf-8?q?evil=40attacker.example?= <bob@example.com>",
		".bob@example.com", "bob.@example.com", "bo..b@example.com",
	} {
		_, err := canonicalEmail(in)
		require.Error(t, err, in)
	}
}

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
		d, err := resolvePath(root, in)
		require.NoError(t, err, in)
		require.Equal(t, want, d.Path)
	}
	for _, in := range []string{
		"", "../x", root + "/../../etc/shadow", base + "/data2/x", base + "/database/x", "/etc/passwd", "a/../../b",
		"a\x00b", `..\x`, "leak", "up/secret", "up/data2/new", "%2e%2e/secret", "a%2Fb", "a\nb",
		// A symlink that stays inside still leads elsewhere than the path
		// the policy judges: inside/x is notes/x.
		"inside/x", "inside",
	} {
		_, err := resolvePath(root, in)
		require.Error(t, err, "%q", in)
	}
	_, err := resolvePath(filepath.Join(base, "missing-root"), "x")
	require.Error(t, err, "a root that does not exist denies")
}

func TestArgvDestination(t *testing.T) {
	for in, flagged := range map[string]bool{
		"main": false, "file.txt": false, "a-b": false, "": false,
		"-x": true, "--output=/tmp/x": true, " \t-oProxyCommand=sh": true, "-": true,
		// Unicode white space, invisible characters and dashes a tool may
		// trim or normalize to an ASCII '-'.
		"\u00a0--output=/x": true, "\u3000-x": true, "\u200b--exec=sh": true, "\ufeff-x": true,
		"\uff0d-output": true, "\u2212x": true, "\u2010x": true, "\u2014x": true, "\u00a0": false,
		"a\u2212b": false, "\u200bmain": false,
	} {
		d, err := argvDestination(in)
		require.NoError(t, err)
		require.Equal(t, authz.Destination{Kind: "argv", Flagged: flagged}, d, "%q", in)
	}
	_, err := argvDestination("a\x00b")
	require.Error(t, err)
}

func TestDestinationsFieldShapes(t *testing.T) {
	decls := []Dest{URLArg("req.urls"), EmailArg("to")}
	d, err := derive(decls, map[string]any{
		"req": map[string]any{"urls": []any{"https://a.example/", "https://b.example/"}},
		"to":  "x@example.com",
	})
	require.NoError(t, err)
	require.Len(t, d.dests, 3)
	// A declared field must be there; an optional one may be left out.
	_, err = derive(decls, map[string]any{})
	require.ErrorContains(t, err, "argument req.urls is missing")
	optional := []Dest{URLArg("req.urls").Optional(), EmailArg("to").Optional()}
	for _, args := range []any{map[string]any{}, map[string]any{"req": nil, "to": nil}, map[string]any{"req": map[string]any{}}} {
		d, err = derive(optional, args)
		require.NoError(t, err, fmt.Sprint(args))
		require.NotNil(t, d.dests, "the policy sees [], not null")
		require.Empty(t, d.dests)
	}
	for _, args := range []any{
		map[string]any{"to": 42.0},
		map[string]any{"to": "x@example.com", "req": "https://a.example/"}, // present, but not an object
		map[string]any{"to": "x@example.com", "req": map[string]any{"urls": map[string]any{}}},
		map[string]any{"to": []any{"x@example.com", nil}, "req": map[string]any{"urls": []any{}}},
		map[string]any{"req": map[string]any{"urls": []any{"https://a.example/", 1.0}}},
		map[string]any{"to": "not an address"},
	} {
		_, err := derive(decls, args)
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
		again, err := canonicalURL(urlOf(d))
		if err != nil {
			t.Fatalf("canonical form %+v of %q does not parse: %v", d, in, err)
		}
		if again != d {
			t.Fatalf("not a fixed point: %q → %+v → %+v", in, d, again)
		}
	})
}

// urlOf renders a url destination as a URL again. The canonical path is
// decoded ("/a b"), so it is escaped back ("/a%20b").
func urlOf(d authz.Destination) string {
	u := url.URL{Scheme: d.Scheme, Host: net.JoinHostPort(d.Host, strconv.Itoa(d.Port)), Path: d.Path}
	return u.String()
}
