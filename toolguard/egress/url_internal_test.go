package egress

import (
	"testing"

	"github.com/stretchr/testify/require"
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
			d, err := CanonicalURL(tc.in)
			require.NoError(t, err)
			require.Equal(t, URL{Scheme: d.Scheme, Host: tc.host, Port: tc.port, Path: tc.path}, d)
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
			_, err := CanonicalURL(in)
			require.Error(t, err)
		})
	}
}

// FuzzCanonicalURL: never panics, and what it accepts is a fixed point — the
// canonical form, fed back, gives the same destination.
func FuzzCanonicalURL(f *testing.F) {
	for _, s := range []string{"https://example.com/a/../b", "http://0x7f.1/", "https://[::ffff:7f00:1]/", "https://u@h/", "http://h:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := CanonicalURL(in)
		if err != nil {
			return
		}
		again, err := CanonicalURL(d.String())
		if err != nil {
			t.Fatalf("canonical form %+v of %q does not parse: %v", d, in, err)
		}
		if again != d {
			t.Fatalf("not a fixed point: %q → %+v → %+v", in, d, again)
		}
	})
}
