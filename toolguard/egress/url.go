package egress

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// URL is an http or https URL in the one form the policy and the checks
// compare: what CanonicalURL returns.
type URL struct {
	Scheme string // "http" or "https"
	Host   string // as CanonicalHost writes it
	Port   int    // the scheme's default when the URL names none
	Path   string // decoded and cleaned; "/" at least
}

// String is the URL again, its path escaped where it must be ("/a b" is
// "/a%20b"): CanonicalURL of it is u.
func (u URL) String() string {
	v := url.URL{Scheme: u.Scheme, Host: net.JoinHostPort(u.Host, strconv.Itoa(u.Port)), Path: u.Path}
	return v.String()
}

// hostProfile is UTS #46 processing as the WHATWG URL standard does it
// (nontransitional, bidi and joiner rules), so the host the policy sees is
// the punycode name a browser or Go's resolver would look up: "bücher.example"
// is "xn--bcher-kva.example", fullwidth and ideographic dots are dots, and a
// Cyrillic "аpple.com" is "xn--pple-43d.com", which no allowlist holding
// apple.com matches. '_' stays allowed: it is common in real DNS names.
var hostProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.CheckJoiners(true),
	idna.CheckHyphens(true),
	idna.StrictDomainName(false),
)

// CanonicalURL reads raw as an http or https URL the one way the policy,
// the transport and the tool's server can agree on, or refuses it: no
// userinfo, no white space or control characters anywhere, no path that
// percent-encodes '/', '\' or '.', the host as CanonicalHost writes it.
func CanonicalURL(raw string) (URL, error) {
	if i := strings.IndexFunc(raw, func(r rune) bool { return isControl(r) || r == '\\' || unicode.IsSpace(r) }); i >= 0 {
		// Browsers strip tabs and newlines and read '\' as '/'; Go does
		// not, and sends a trailing space as "%20". Two parsers reading one
		// string differently is how a check and a request disagree, so
		// neither reading is guessed, not even trimming the ends.
		return URL{}, errors.New("URL contains white space, control characters or '\\'")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return URL{}, errors.New("not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return URL{}, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return URL{}, errors.New("URL carries userinfo")
	}
	if u.Opaque != "" {
		return URL{}, errors.New("opaque URL")
	}
	host, err := CanonicalHost(u.Hostname())
	if err != nil {
		return URL{}, err
	}
	port := 443
	if scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return URL{}, fmt.Errorf("bad port %q", p)
		}
		port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return URL{}, errors.New("empty port")
	}
	if hidesSeparator(u.EscapedPath()) {
		// "/admin%2F..%2Fpublic": a server that routes on the raw path
		// reaches /admin…, one that decodes first reaches /public, and the
		// policy can judge only one of them.
		return URL{}, errors.New("URL path percent-encodes '/', '\\' or '.'")
	}
	p := "/"
	if u.Path != "" {
		p = path.Clean("/" + u.Path)
	}
	// Percent-encoded controls (%00, %0a…) decode into the path: a server
	// may truncate or split there, so the policy would judge another path.
	// ('\', literal or encoded, was refused above.)
	if strings.IndexFunc(p, isControl) >= 0 {
		return URL{}, errors.New("URL path contains encoded control characters")
	}
	return URL{Scheme: scheme, Host: host, Port: port, Path: p}, nil
}

// CanonicalHost returns the one spelling of a host that the policy, the
// egress transport and the dialer all compare: IPv6 literals in RFC 5952
// form (an IPv4-mapped address is its IPv4 address), IPv4 in dotted quad
// whatever form it was written in, names lower-case punycode without the
// trailing dot. What cannot be read unambiguously is refused. It does no DNS
// lookup: it runs on the hot path of every call.
func CanonicalHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("empty host")
	}
	if strings.ContainsRune(h, ':') || strings.HasPrefix(h, "[") {
		return canonicalIPv6(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	}
	if strings.ContainsRune(h, '%') {
		return "", errors.New("percent-encoded host")
	}
	if !utf8.ValidString(h) {
		return "", errors.New("host is not valid UTF-8")
	}
	ascii, err := hostProfile.ToASCII(h)
	if err != nil {
		return "", fmt.Errorf("host %q is not a valid internationalized domain name", h)
	}
	if ascii != h {
		// A mapping must land on a name that maps to itself, or the
		// policy and a later lookup could read two different names.
		if again, err := hostProfile.ToASCII(ascii); err != nil || again != ascii {
			return "", fmt.Errorf("host %q has no stable ASCII form", h)
		}
	}
	ascii = strings.TrimSuffix(ascii, ".")
	if ascii == "" {
		return "", errors.New("empty host")
	}
	if endsInNumber(ascii) {
		a, err := parseIPv4(ascii)
		if err != nil {
			return "", fmt.Errorf("host %q: %w", h, err)
		}
		return a.String(), nil
	}
	if len(ascii) > 253 {
		return "", fmt.Errorf("host %q is too long", h)
	}
	for l := range strings.SplitSeq(ascii, ".") {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("bad host %q", h)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("host %q: only ASCII letters, digits, '-' and '_' are accepted", h)
			}
		}
	}
	return ascii, nil
}

// canonicalIPv6 parses an IPv6 literal. An IPv4-mapped address
// (::ffff:7f00:1) is the IPv4 address: the kernel dials it as such. Other
// forms that embed an IPv4 address (::127.0.0.1, 64:ff9b::7f00:1 for NAT64,
// 2002::/16 for 6to4) stay IPv6 here — they are different addresses — and
// the egress checks judge them by the IPv4 address they carry
// (embeddedIPv4).
func canonicalIPv6(s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return "", fmt.Errorf("host %q is not an IPv6 address", s)
	}
	if a.Zone() != "" {
		return "", errors.New("IP literal with a zone")
	}
	return a.Unmap().String(), nil
}

// hidesSeparator reports whether a path percent-encodes a character that
// shapes the path itself: '/', '\\' or '.'. No encoder needs to
// (url.PathEscape leaves '/' and '.' as they are), so only a path built to
// be read two ways does: decoded by one reader and not by another.
func hidesSeparator(p string) bool {
	l := strings.ToLower(p)
	return strings.Contains(l, "%2e") || strings.Contains(l, "%2f") || strings.Contains(l, "%5c")
}

// isControl reports the ASCII control characters, DEL included.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }
