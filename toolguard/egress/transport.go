package egress

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"sync"

	"github.com/ztagent/ztagent/audit"
)

// Transport returns an http.RoundTripper that lets a request through only to
// a host the decision granted to the call in the request's context; a
// request made outside a guarded call, or after it returned, is refused too.
// It is the tool's side of "egress limited to the decided destinations".
//
// Every request is checked, and an http.Client sends each redirect hop as a
// request of its own, so a redirect to a host that was not granted is
// refused before it is sent. The host is compared in canonical form (IPv4 in
// any notation, IDNA, trailing dot). The address actually connected is
// checked too, after DNS, so a granted name that resolves — or rebinds — to a
// loopback, private, link-local or metadata address is refused unless the
// grant allows private addresses (a decision's egress.allow_private).
//
// A nil base means a transport like http.DefaultTransport whose dialer is
// Dialer() — the address is checked before the connection is made — and
// which uses no proxy (through a proxy the connected address would be the
// proxy's). A base of your own is checked on the connection it returns,
// before the request is written; give it Dialer() or DialControl to refuse
// the connection itself. It also sends the W3C traceparent of the call, so a
// tool backend in another process joins the same trace. Its refusals match
// ErrEgressDenied.
//
// Every transport with a nil base shares one pool of connections, which
// CloseIdleConnections empties; an http.Client's CloseIdleConnections
// reaches the pool of its transport's base, this one or your own.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = guardedBase()
	}
	return &egressTransport{base: base}
}

// guardedBase is shared so that connections are pooled across calls; each
// reuse is checked again against the call that reuses it (GotConn). One
// transport per Transport(nil) would pool nothing for a tool that builds
// its client per call, and leave each one's idle connections behind.
var guardedBase = sync.OnceValue(func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = Dialer().DialContext
	t.DialTLSContext = nil
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return t
})

// CloseIdleConnections closes the connections Transport(nil) keeps open
// for reuse. net/http holds each with two goroutines until it is closed or
// its idle timeout (90 s) ends, so a test that checks for leaked goroutines
// (goleak), or a program shutting down cleanly, calls it first. Connections
// in use are left alone, and the transports keep working: the next request
// opens a new connection.
func CloseIdleConnections() { guardedBase().CloseIdleConnections() }

type egressTransport struct{ base http.RoundTripper }

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// base's pool, as it would without this wrapper.
func (t *egressTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *egressTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	refuse := func(err error) (*http.Response, error) {
		if req.Body != nil {
			_ = req.Body.Close() // RoundTrip must close the body, even on error
		}
		return nil, err
	}
	e, err := grantFrom(req.Context())
	if err != nil {
		return refuse(refused("toolguard: egress to %s refused: request %w", req.URL.Host, err))
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return refuse(refused("toolguard: egress refused: scheme %q", req.URL.Scheme))
	}
	if req.URL.User != nil {
		return refuse(refused("toolguard: egress refused: URL carries userinfo"))
	}
	host, err := CanonicalHost(req.URL.Hostname())
	if err != nil {
		return refuse(refused("toolguard: egress refused: %w", err))
	}
	if !e.granted(host) {
		return refuse(refused("toolguard: egress to %s refused: not granted to this call", host))
	}
	if err := checkRedirectHop(req); err != nil {
		return refuse(err)
	}
	if req.Host != "" && req.Host != req.URL.Host {
		// A Host header naming another site would reach it through a
		// shared front end (virtual hosting) while the check saw this one.
		h := req.Host
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
		if ch, err := CanonicalHost(h); err != nil || !e.granted(ch) {
			return refuse(refused("toolguard: egress refused: Host header %q is not granted to this call", req.Host))
		}
	}
	// The connection a request gets — new or reused from the pool — is
	// checked before the request is written on it. A refused connection
	// is closed, so nothing is sent.
	var (
		mu      sync.Mutex
		connErr error
	)
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		if info.Conn == nil {
			return
		}
		err := e.checkConn(info.Conn.RemoteAddr())
		if lerr := e.live(); err == nil && lerr != nil {
			err = refused("toolguard: egress to %s refused: request %w", host, lerr)
		}
		if err != nil {
			mu.Lock()
			connErr = err
			mu.Unlock()
			_ = info.Conn.Close()
		}
	}}
	ctx := httptrace.WithClientTrace(req.Context(), trace)
	// The tool backend joins the caller's trace (W3C traceparent). The
	// request is cloned: a RoundTripper must not modify the caller's.
	out := req.Clone(ctx)
	if a, err := netip.ParseAddr(host); err == nil && host != req.URL.Hostname() {
		// "2130706433" or "0x7f.1" was checked as 127.0.0.1; Go's resolver
		// would look it up in DNS as a name instead. Dial what was checked.
		out.URL.Host = a.String()
		if a.Is6() {
			out.URL.Host = "[" + out.URL.Host + "]"
		}
		if p := req.URL.Port(); p != "" {
			out.URL.Host = net.JoinHostPort(a.String(), p)
		}
	}
	audit.InjectHTTP(ctx, out.Header)
	resp, err := t.base.RoundTrip(out)
	if resp != nil && resp.Request == nil {
		// http.Transport says which request a response answers; a base
		// that does not would leave checkRedirectHop nothing to follow.
		resp.Request = req
	}
	mu.Lock()
	cerr := connErr
	mu.Unlock()
	if cerr != nil {
		if resp != nil {
			_ = resp.Body.Close()
		}
		return nil, cerr
	}
	return resp, err
}

// checkRedirectHop checks a request an http.Client makes to follow a
// redirect (req.Response is the redirect): the server chose where it goes,
// not the tool. A grant names hosts, not ports, so an open redirect to
// another port of a granted host (its Redis or Docker port) would pass the
// host check. A redirect may therefore go only to the port of the request
// the tool made (the first of the chain) or to its scheme's default port,
// and never from https to http.
func checkRedirectHop(req *http.Request) error {
	if req.Response == nil {
		return nil
	}
	first := req
	for hops := 0; first.Response != nil && first.Response.Request != nil && hops <= maxRedirectChain; hops++ {
		prev := first.Response.Request
		if prev.URL.Scheme == "https" && req.URL.Scheme == "http" {
			return refused("toolguard: egress refused: a redirect from https to http")
		}
		first = prev
	}
	if first.Response != nil {
		// A base transport that does not say which request a response
		// answers (RoundTrip fills it in for ours): nothing to compare with.
		return refused("toolguard: egress refused: a redirect whose chain cannot be followed back")
	}
	port := effectivePort(req.URL)
	if port != effectivePort(first.URL) && port != defaultPort(req.URL.Scheme) {
		return refused("toolguard: egress refused: a redirect to port %s of %s; the request was made to port %s", port, req.URL.Hostname(), effectivePort(first.URL))
	}
	return nil
}

// maxRedirectChain bounds the walk back through a redirect chain; an
// http.Client follows 10 redirects by default.
const maxRedirectChain = 64

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort(u.Scheme)
}

// checkConn checks the address a connection reached. A connection whose
// peer is not an IP address (a unix socket, a test pipe) carries no
// address to judge and passes.
func (e *Grant) checkConn(addr net.Addr) error {
	if addr == nil {
		return nil
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		if tcp, ok := addr.(*net.TCPAddr); ok {
			ap = tcp.AddrPort()
		} else {
			return nil
		}
	}
	return e.checkAddr(ap.Addr())
}
