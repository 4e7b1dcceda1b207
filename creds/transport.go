package creds

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrUnbound: with RefuseUnbound, a request carrying a call's credential in
// its context went to a host that is not the credential's audience.
var ErrUnbound = errors.New("creds: request is not to the credential's audience")

// TransportOption configures Transport. Sealed.
type TransportOption interface{ applyTransport(*transportConfig) }

type transportConfig struct{ refuseUnbound bool }

// RefuseUnbound makes Transport fail (ErrUnbound) a request whose context
// carries a credential but whose destination is not that credential's
// audience, instead of sending it without the credential.
func RefuseUnbound() TransportOption {
	return transportOptionFunc(func(c *transportConfig) { c.refuseUnbound = true })
}

// Transport binds the call's credential to its audience on the way out. For
// each request (each redirect hop is one) it takes the credential from
// req.Context() (FromContext) and adds "Authorization: Bearer" only when the
// request's origin — https, host, port (443 if absent) — equals the
// audience's. Any other request gets no credential from it: plain http,
// another host or port, a redirect to elsewhere. It never strips what the
// caller set on a request it does not bind; on a bound request the call's
// credential replaces any Authorization the caller set.
//
// Audiences that are not https origins bind nothing, so a token is never sent
// in clear text. Requests without a credential in their context pass through
// unchanged. base nil means http.DefaultTransport.
func Transport(base http.RoundTripper, opts ...TransportOption) http.RoundTripper {
	var cfg transportConfig
	for _, o := range opts {
		if o != nil {
			o.applyTransport(&cfg)
		}
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &bindingTransport{base: base, cfg: cfg}
}

type bindingTransport struct {
	base http.RoundTripper
	cfg  transportConfig
}

func (t *bindingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c, ok := FromContext(req.Context())
	if !ok {
		return t.base.RoundTrip(req)
	}
	if !sameOrigin(c.Audience, req.URL) || c.Token() == "" {
		if t.cfg.refuseUnbound {
			if req.Body != nil {
				_ = req.Body.Close() // RoundTrip must close the body, even on error
			}
			return nil, fmt.Errorf("creds: transport: credential %s: %w", c.ID, ErrUnbound)
		}
		return t.base.RoundTrip(req)
	}
	// RoundTrippers must not modify the caller's request.
	out := req.Clone(req.Context())
	out.Header.Set("Authorization", "Bearer "+c.Token())
	return t.base.RoundTrip(out)
}

// sameOrigin reports whether u is at the https origin named by audience.
func sameOrigin(audience string, u *url.URL) bool {
	a, err := url.Parse(audience)
	if err != nil || u == nil {
		return false
	}
	if !strings.EqualFold(a.Scheme, "https") || !strings.EqualFold(u.Scheme, "https") ||
		a.User != nil || a.Opaque != "" || a.Host == "" {
		return false
	}
	ah, ap := originHostPort(a)
	uh, up := originHostPort(u)
	return ah != "" && ah == uh && ap == up
}

// originHostPort lowercases the host, drops one trailing dot (the same DNS
// name) and defaults the port to 443.
func originHostPort(u *url.URL) (string, string) {
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	p := u.Port()
	if p == "" {
		p = "443"
	}
	return h, p
}
