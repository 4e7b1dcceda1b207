package toolguard

import (
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/ztagent/ztagent/authz"
)

// Dest declares one argument of a tool that names a destination. The guard
// derives the destinations from the frozen arguments by code, so the policy
// judges where the call really goes, not what the model says it does.
//
// The field is a path into the JSON arguments: keys separated by dots
// ("msg.to"), matched exactly. Arrays are crossed wherever the path meets
// one, so "links.url" reaches the url of every element of {"links":[…]}; a
// segment may say so, "links[].url", and then must hold an array. The value
// at the end is a string or an array of strings. A declared field must be
// present: a call whose arguments lack it, or hold null there, is denied
// (CodeBadDestination) unless the destination is Optional; a present value
// of any other shape is always denied.
type Dest struct {
	kind     string
	field    string
	root     string
	path     argPath
	err      error              // the field or fixed value did not parse
	optional bool               // Optional: an absent field yields none
	fixed    *authz.Destination // FixedURL: the same destination on every call
}

func newDest(kind, field, root string) Dest {
	p, err := parseArgPath(field)
	return Dest{kind: kind, field: field, root: root, path: p, err: err}
}

// URLArg declares that the argument field holds http or https URLs.
func URLArg(field string) Dest { return newDest("url", field, "") }

// EmailArg declares that the argument field holds email addresses.
func EmailArg(field string) Dest { return newDest("email", field, "") }

// PathArg declares that the argument field holds file paths, which must stay
// under root (an absolute directory that exists when the call is made). A
// path is refused when it contains "..", is outside root lexically (a
// sibling such as /srv/data2 is outside /srv/data), or reaches outside root
// through a symlink; the check opens root with os.Root. Inside the tool,
// OpenFile and ReadFile open only the authorized paths, through os.Root again,
// so a symlink swapped in after the decision does not escape either.
func PathArg(field, root string) Dest { return newDest("path", field, root) }

// ArgvArg declares that the argument field holds command-line arguments (a
// string or an array of strings) that the tool passes to a program. Each
// becomes a destination of kind "argv"; one that begins with a dash (after
// leading white space or invisible characters, and counting the Unicode
// dashes and minus signs a tool might normalize to '-') is flagged, because
// a program reads it as an option — "--output=/etc/cron.d/x",
// "-oProxyCommand=…" — not as the data the tool meant. The default policy
// denies flagged arguments (argument_injection).
func ArgvArg(field string) Dest { return newDest("argv", field, "") }

// FixedURL declares a destination the tool reaches whatever its arguments
// say — an API it always calls, such as "https://api.weather.example/v1" —
// so that the policy judges it and the call's egress grant can cover it,
// like a destination found in the arguments. The URL is canonicalized when
// the tool is wrapped; one that is not an http or https URL is an error then.
func FixedURL(rawURL string) Dest {
	d, err := canonicalURL(rawURL)
	if err != nil {
		return Dest{kind: "url", field: rawURL, err: fmt.Errorf("fixed URL: %w", err)}
	}
	return Dest{kind: "url", field: rawURL, fixed: &d}
}

// Optional returns d for a field calls may leave out: an absent field, or
// null, yields no destination instead of a denial.
func (d Dest) Optional() Dest {
	d.optional = true
	return d
}

func (d Dest) validate() error {
	switch {
	case d.kind == "":
		return errors.New("zero Dest: use URLArg, EmailArg, PathArg, ArgvArg or FixedURL")
	case d.err != nil:
		return fmt.Errorf("%s destination: %w", d.kind, d.err)
	case d.fixed != nil:
		return nil
	case d.kind == "path" && !filepath.IsAbs(d.root):
		return fmt.Errorf("path destination %s: root %q is not absolute", d.field, d.root)
	}
	return nil
}

// derive finds every declared destination in the decoded arguments, and
// for each path the root that resolved it. An absent optional field yields
// none; an absent required field, a present field of the wrong shape, or a
// value that cannot be canonicalized, is an error (deny).
func derive(decls []Dest, args any) (derivation, error) {
	d := derivation{dests: []authz.Destination{}} // never nil: the policy sees [], not null
	for _, decl := range decls {
		if decl.fixed != nil {
			d.dests = append(d.dests, *decl.fixed)
			continue
		}
		err := decl.path.eachString(args, decl.optional, func(v string) error {
			dst, err := decl.derive(v)
			if err != nil {
				return fmt.Errorf("argument %s: %w", decl.path, err)
			}
			if dst.Kind == "path" {
				d.files = append(d.files, fileGrant{root: filepath.Clean(decl.root), path: dst.Path})
			}
			d.dests = append(d.dests, dst)
			return nil
		})
		if err != nil {
			return derivation{}, err
		}
	}
	d.described = make([]string, len(d.dests))
	for i, x := range d.dests {
		d.described[i] = describe(x)
	}
	return d, nil
}

func (d Dest) derive(v string) (authz.Destination, error) {
	switch d.kind {
	case "url":
		return canonicalURL(v)
	case "email":
		return canonicalEmail(v)
	case "argv":
		return argvDestination(v)
	default:
		return resolvePath(d.root, v)
	}
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

func canonicalURL(raw string) (authz.Destination, error) {
	if i := strings.IndexFunc(raw, func(r rune) bool { return isControl(r) || r == '\\' || unicode.IsSpace(r) }); i >= 0 {
		// Browsers strip tabs and newlines and read '\' as '/'; Go does
		// not, and sends a trailing space as "%20". Two parsers reading one
		// string differently is how a check and a request disagree, so
		// neither reading is guessed, not even trimming the ends.
		return authz.Destination{}, errors.New("URL contains white space, control characters or '\\'")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return authz.Destination{}, errors.New("not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return authz.Destination{}, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return authz.Destination{}, errors.New("URL carries userinfo")
	}
	if u.Opaque != "" {
		return authz.Destination{}, errors.New("opaque URL")
	}
	host, err := canonicalHost(u.Hostname())
	if err != nil {
		return authz.Destination{}, err
	}
	port := 443
	if scheme == "http" {
		port = 80
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return authz.Destination{}, fmt.Errorf("bad port %q", p)
		}
		port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return authz.Destination{}, errors.New("empty port")
	}
	if hidesSeparator(u.EscapedPath()) {
		// "/admin%2F..%2Fpublic": a server that routes on the raw path
		// reaches /admin…, one that decodes first reaches /public, and the
		// policy can judge only one of them.
		return authz.Destination{}, errors.New("URL path percent-encodes '/', '\\' or '.'")
	}
	p := "/"
	if u.Path != "" {
		p = path.Clean("/" + u.Path)
	}
	// Percent-encoded controls (%00, %0a…) decode into the path: a server
	// may truncate or split there, so the policy would judge another path.
	// ('\', literal or encoded, was refused above.)
	if strings.IndexFunc(p, isControl) >= 0 {
		return authz.Destination{}, errors.New("URL path contains encoded control characters")
	}
	return authz.Destination{Kind: "url", Scheme: scheme, Host: host, Port: port, Path: p}, nil
}

func canonicalEmail(raw string) (authz.Destination, error) {
	a, err := mail.ParseAddress(raw)
	if err != nil {
		return authz.Destination{}, errors.New("not an email address")
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at <= 0 {
		return authz.Destination{}, errors.New("not an email address")
	}
	// Mail parsers disagree on quoted local parts ("x@evil"@example.com
	// reaches evil for one that splits at the first '@'), on source routes
	// and on the percent hack (x%evil@relay is relayed to evil by old MTAs),
	// and a display name can hold a second address. A plain address has
	// one reading, so only that is accepted.
	if !plainLocalPart(a.Address[:at]) {
		return authz.Destination{}, errors.New("email local part is quoted or has '@', '%', '!' or other special characters")
	}
	if strings.ContainsRune(a.Name, '@') {
		return authz.Destination{}, errors.New("email display name contains '@'")
	}
	domain, err := canonicalHost(a.Address[at+1:])
	if err != nil {
		return authz.Destination{}, err
	}
	if _, err := netip.ParseAddr(domain); err == nil {
		return authz.Destination{}, errors.New("email to an IP literal")
	}
	return authz.Destination{Kind: "email", Host: domain, Address: a.Address[:at+1] + domain}, nil
}

// canonicalHost returns the one spelling of a host that the policy, the
// egress transport and the dialer all compare: IPv6 literals in RFC 5952
// form (an IPv4-mapped address is its IPv4 address), IPv4 in dotted quad
// whatever form it was written in, names lower-case punycode without the
// trailing dot. What cannot be read unambiguously is refused. It does no DNS
// lookup: it runs on the hot path of every call.
func canonicalHost(h string) (string, error) {
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

// argvDestination flags an argument that a program would read as an option.
// What a tool may strip or fold before exec is skipped or counted: leading
// white space of any kind (a tool that trims with strings.TrimSpace trims
// U+00A0 and U+3000 too), control and invisible format characters (U+200B,
// U+FEFF), and every Unicode dash and minus sign is taken for '-' (NFKC
// folds U+FF0D and U+FE63 to it, and a careless normalizer does the rest).
func argvDestination(v string) (authz.Destination, error) {
	if strings.ContainsRune(v, 0) {
		return authz.Destination{}, errors.New("argument contains NUL")
	}
	first := strings.TrimLeftFunc(v, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
	})
	r, _ := utf8.DecodeRuneInString(first)
	return authz.Destination{Kind: "argv", Flagged: first != "" && isDash(r)}, nil
}

// isDash reports '-' and what could stand for it: Unicode dash punctuation
// and the minus signs.
func isDash(r rune) bool {
	return r == '-' || unicode.Is(unicode.Pd, r) || r == '\u2212' || r == '\u207b' || r == '\u208b'
}

// lexicalPath places p under root without touching the file system: it
// refuses "..", NUL and control characters, percent-encoded dots and
// separators (a tool that decodes them later would escape), and anything
// outside root after cleaning. filepath.Rel compares whole path elements, so
// /srv/data2 is not under /srv/data however the strings share a prefix.
func lexicalPath(root, p string) (full, rel string, err error) {
	if p == "" || strings.IndexFunc(p, isControl) >= 0 {
		return "", "", errors.New("empty path or control characters in path")
	}
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "", "", errors.New("path contains '..'")
		}
	}
	if hidesSeparator(p) {
		return "", "", errors.New("path contains percent-encoded dots or separators")
	}
	root = filepath.Clean(root)
	full = filepath.Clean(p)
	if !filepath.IsAbs(full) {
		full = filepath.Join(root, full)
	}
	rel, ok := relWithin(root, full)
	if !ok {
		return "", "", fmt.Errorf("path is outside %s", root)
	}
	return full, rel, nil
}

// resolvePath resolves p under root and checks through os.Root that no
// element of it below root is a symlink. os.Root alone keeps a path from
// leaving root; a symlink inside root could still lead the tool elsewhere
// in root than the path the policy judges ("public/report.txt" →
// "../private/secret"), so the path is refused instead. A path that does not
// exist yet is accepted (a tool may create it) as far as it exists. The
// check is repeated where the file is opened (OpenFile), which is what holds
// when a symlink is swapped in after the decision.
func resolvePath(root, p string) (authz.Destination, error) {
	full, rel, err := lexicalPath(root, p)
	if err != nil {
		return authz.Destination{}, err
	}
	r, err := os.OpenRoot(filepath.Clean(root))
	if err != nil {
		return authz.Destination{}, fmt.Errorf("root %s cannot be opened", filepath.Clean(root))
	}
	defer r.Close()
	if err := noSymlinks(r, rel); err != nil {
		return authz.Destination{}, fmt.Errorf("path %s under %s: %w", rel, filepath.Clean(root), err)
	}
	return authz.Destination{Kind: "path", Path: full}, nil
}

// errSymlink is a path with a symlink in it, below its root.
var errSymlink = errors.New("it goes through a symlink, which could lead elsewhere than the path judged")

// noSymlinks checks each element of rel under r, from the first, with
// Lstat: a symlink is errSymlink, an element that does not exist ends the
// walk, and any other failure (a permission, an escape os.Root refuses) is
// an error.
func noSymlinks(r *os.Root, rel string) error {
	at := ""
	for elem := range strings.SplitSeq(rel, string(filepath.Separator)) {
		if elem == "" || elem == "." {
			continue
		}
		at = filepath.Join(at, elem)
		fi, err := r.Lstat(at)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return errors.New("it cannot be resolved (a symlink that leaves the root?)")
		case fi.Mode()&fs.ModeSymlink != 0:
			return errSymlink
		}
	}
	return nil
}

// plainLocalPart reports whether local is an RFC 5322 dot-atom without '%'
// and '!' (the routing characters), UTF-8 letters allowed (RFC 6531).
func plainLocalPart(local string) bool {
	if local == "" || local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for _, r := range local {
		switch {
		case r >= 0x80 && unicode.IsPrint(r),
			'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9',
			strings.ContainsRune("#$&'*+-/=?^_`{|}~.", r):
		default:
			return false
		}
	}
	return true
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
