package toolguard

import (
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard/egress"
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
	// recipient is a RecipientArg's kind; scheme a URLArg's AssumeScheme.
	recipient, scheme string
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
// egress.OpenFile and egress.ReadFile open only the authorized paths,
// through os.Root again, so a symlink swapped in after the decision does not
// escape either.
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
	d, err := urlDestination(rawURL)
	if err != nil {
		return Dest{kind: "url", field: rawURL, err: fmt.Errorf("fixed URL: %w", err)}
	}
	return Dest{kind: "url", field: rawURL, fixed: &d}
}

// AssumeScheme returns a URLArg that reads a value without a scheme
// ("www.example.com/page", as people and models write addresses) as a URL
// of scheme ("https" or "http"), the way its tool does, instead of refusing
// it. Only a value with no "://" in it is read so; the policy judges the
// URL it becomes.
func (d Dest) AssumeScheme(scheme string) Dest {
	if d.kind != "url" || d.fixed != nil {
		d.err = errors.New("AssumeScheme applies to URLArg only")
		return d
	}
	if scheme != "https" && scheme != "http" {
		d.err = fmt.Errorf("AssumeScheme(%q): want https or http", scheme)
		return d
	}
	d.scheme = scheme
	return d
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
		return errors.New("zero Dest: use URLArg, EmailArg, PathArg, ArgvArg, RecipientArg or FixedURL")
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
			d.fixed = append(d.fixed, true)
			continue
		}
		err := decl.path.eachString(args, decl.optional, func(v string) error {
			dst, f, err := decl.derive(v)
			if err != nil {
				return fmt.Errorf("argument %s: %w", decl.path, err)
			}
			if dst.Kind == "path" {
				d.files = append(d.files, f)
			}
			d.dests = append(d.dests, dst)
			d.fixed = append(d.fixed, false)
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

// derive reads one value of the declared field; a path also yields the
// file the call's grant will hold.
func (d Dest) derive(v string) (dst authz.Destination, f egress.File, err error) {
	switch d.kind {
	case "url":
		if d.scheme != "" && !strings.Contains(v, "://") {
			v = d.scheme + "://" + v
		}
		dst, err = urlDestination(v)
	case "recipient":
		dst, err = recipientDestination(d.recipient, v)
	case "email":
		dst, err = canonicalEmail(v)
	case "argv":
		dst, err = argvDestination(v)
	default:
		if f, err = egress.ResolvePath(d.root, v); err == nil {
			dst = authz.Destination{Kind: "path", Path: f.Path()}
		}
	}
	return dst, f, err
}

// urlDestination is the destination of a URL, as egress.CanonicalURL reads
// it: the transport compares the host the policy judged.
func urlDestination(raw string) (authz.Destination, error) {
	u, err := egress.CanonicalURL(raw)
	if err != nil {
		return authz.Destination{}, err
	}
	return authz.Destination{Kind: "url", Scheme: u.Scheme, Host: u.Host, Port: u.Port, Path: u.Path}, nil
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
	domain, err := egress.CanonicalHost(a.Address[at+1:])
	if err != nil {
		return authz.Destination{}, err
	}
	if _, err := netip.ParseAddr(domain); err == nil {
		return authz.Destination{}, errors.New("email to an IP literal")
	}
	return authz.Destination{Kind: "email", Host: domain, Address: a.Address[:at+1] + domain}, nil
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
