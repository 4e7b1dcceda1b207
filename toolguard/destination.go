package toolguard

import (
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ztagent/ztagent/authz"
)

// Dest declares one argument of a tool that names a destination. The guard
// derives the destinations from the frozen arguments by code, so the policy
// judges where the call really goes, not what the model says it does.
type Dest struct {
	kind  string
	field string
	root  string
}

// URLArg declares that the argument field (a dotted path into the JSON
// arguments; a string or an array of strings) holds http or https URLs.
func URLArg(field string) Dest { return Dest{kind: "url", field: field} }

// EmailArg declares that the argument field holds email addresses.
func EmailArg(field string) Dest { return Dest{kind: "email", field: field} }

// PathArg declares that the argument field holds file paths, which must stay
// under root (an absolute directory).
func PathArg(field, root string) Dest { return Dest{kind: "path", field: field, root: root} }

func (d Dest) validate() error {
	switch {
	case d.kind == "":
		return errors.New("zero Dest: use URLArg, EmailArg or PathArg")
	case d.field == "":
		return fmt.Errorf("%s destination: empty field", d.kind)
	case d.kind == "path" && !filepath.IsAbs(d.root):
		return fmt.Errorf("path destination %s: root %q is not absolute", d.field, d.root)
	}
	return nil
}

// destinations derives every declared destination from the decoded arguments.
// A declared field that is absent yields none; a present field of the wrong
// type, or a value that cannot be canonicalized, is an error (deny).
func destinations(decls []Dest, args any) ([]authz.Destination, error) {
	var out []authz.Destination
	for _, d := range decls {
		vals, err := fieldStrings(args, d.field)
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			dst, err := d.derive(v)
			if err != nil {
				return nil, fmt.Errorf("argument %s: %w", d.field, err)
			}
			out = append(out, dst)
		}
	}
	return out, nil
}

func (d Dest) derive(v string) (authz.Destination, error) {
	switch d.kind {
	case "url":
		return canonicalURL(v)
	case "email":
		return canonicalEmail(v)
	default:
		return resolvePath(d.root, v)
	}
}

// fieldStrings walks a dotted path in decoded JSON.
func fieldStrings(args any, field string) ([]string, error) {
	cur := args
	for _, part := range strings.Split(field, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, nil
		}
		if cur, ok = obj[part]; !ok {
			return nil, nil
		}
	}
	switch v := cur.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("argument %s: want strings, got %T", field, e)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("argument %s: want a string or an array of strings, got %T", field, cur)
	}
}

func canonicalURL(raw string) (authz.Destination, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return authz.Destination{}, errors.New("not a URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return authz.Destination{}, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.User != nil {
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
	}
	p := "/"
	if u.Path != "" {
		p = path.Clean("/" + u.Path)
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
	domain, err := canonicalHost(a.Address[at+1:])
	if err != nil {
		return authz.Destination{}, err
	}
	if _, err := netip.ParseAddr(domain); err == nil {
		return authz.Destination{}, errors.New("email to an IP literal")
	}
	return authz.Destination{Kind: "email", Host: domain, Address: a.Address[:at+1] + domain}, nil
}

// canonicalHost lower-cases a DNS name and normalizes IP literals. Anything
// ambiguous is refused rather than guessed: internationalized names (until
// IDNA mapping lands) and numeric forms such as 0x7f.1 or 2130706433 that
// resolvers read as IPv4 addresses.
func canonicalHost(h string) (string, error) {
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if h == "" {
		return "", errors.New("empty host")
	}
	if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		if a.Zone() != "" {
			return "", errors.New("IP literal with a zone")
		}
		return a.Unmap().String(), nil
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return "", fmt.Errorf("bad host %q", h)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("host %q: only ASCII letters, digits, '-' and '_' are accepted", h)
			}
		}
	}
	if last := labels[len(labels)-1]; isNumericLabel(last) {
		return "", fmt.Errorf("host %q: ambiguous numeric form", h)
	}
	return h, nil
}

func isNumericLabel(l string) bool {
	if strings.HasPrefix(l, "0x") {
		return true
	}
	for _, c := range l {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// resolvePath resolves p under root. It refuses ".." outright: no legitimate
// tool call needs it, and cleaning it away would hide an attempted escape.
// Symlinks are resolved where the file is opened (a later release adds an
// os.Root based opener).
func resolvePath(root, p string) (authz.Destination, error) {
	if p == "" || strings.ContainsRune(p, 0) {
		return authz.Destination{}, errors.New("empty or NUL path")
	}
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return authz.Destination{}, errors.New("path contains '..'")
		}
	}
	root = filepath.Clean(root)
	full := filepath.Clean(p)
	if !filepath.IsAbs(full) {
		full = filepath.Join(root, full)
	}
	rel, err := filepath.Rel(root, full)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return authz.Destination{}, fmt.Errorf("path is outside %s", root)
	}
	return authz.Destination{Kind: "path", Path: full}, nil
}
