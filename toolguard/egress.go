package toolguard

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ztagent/ztagent/audit"
)

type egressKey struct{}

// egress is the set of hosts a decision granted to one call.
type egress struct{ hosts []string }

func withEgress(ctx context.Context, hosts []string) context.Context {
	h := make([]string, 0, len(hosts))
	for _, s := range hosts {
		h = append(h, strings.ToLower(strings.TrimSuffix(s, ".")))
	}
	return context.WithValue(ctx, egressKey{}, &egress{hosts: h})
}

// AllowedHosts returns the hosts the decision granted to the call running
// under ctx. Outside a guarded call it returns none, and ok is false.
func AllowedHosts(ctx context.Context) (hosts []string, ok bool) {
	e, ok := ctx.Value(egressKey{}).(*egress)
	if !ok {
		return nil, false
	}
	return slices.Clone(e.hosts), true
}

// Transport returns an http.RoundTripper that lets a request through only to
// a host the decision granted to the call in the request's context; a
// request made outside a guarded call is refused too. It is the tool's side of
// "egress limited to the decided destinations". A nil base means
// http.DefaultTransport. It also sends the W3C traceparent of the call, so a
// tool backend in another process joins the same trace.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &egressTransport{base: base}
}

type egressTransport struct{ base http.RoundTripper }

func (t *egressTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	e, ok := req.Context().Value(egressKey{}).(*egress)
	if !ok {
		return nil, fmt.Errorf("toolguard: egress to %s refused: request is not made within a guarded call", req.URL.Host)
	}
	host := strings.ToLower(strings.TrimSuffix(req.URL.Hostname(), "."))
	if !slices.Contains(e.hosts, host) {
		return nil, fmt.Errorf("toolguard: egress to %s refused: not granted to this call", host)
	}
	// The tool backend joins the caller's trace (W3C traceparent). The
	// request is cloned: a RoundTripper must not modify the caller's.
	req = req.Clone(req.Context())
	audit.InjectHTTP(req.Context(), req.Header)
	return t.base.RoundTrip(req)
}
