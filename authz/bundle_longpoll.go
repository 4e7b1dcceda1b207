package authz

import (
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"
)

// longPollContentType is how a bundle server says it holds polls (OPA's
// convention; OPA's downloader looks for the same header).
const longPollContentType = "application/vnd.openpolicyagent.bundles"

// longPollProbe notes, from every bundle the server sends, whether it
// supports long polling: OPA's downloader then asks it to hold the next
// poll, and the loader must ask again at once rather than sleep. A 304 or
// an error leaves the answer as it was, as in OPA's downloader.
type longPollProbe struct {
	base      http.RoundTripper
	supported *atomic.Bool
}

func (p longPollProbe) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusOK {
		p.supported.Store(resp.Header.Get("Content-Type") == longPollContentType)
	}
	return resp, err
}

// CloseIdleConnections reaches the transport under the probe.
func (p longPollProbe) CloseIdleConnections() {
	if c, ok := p.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// probed returns a copy of hc whose transport is watched by a probe.
func probed(hc *http.Client, supported *atomic.Bool) *http.Client {
	c := *hc
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = longPollProbe{base: base, supported: supported}
	return &c
}

// nextPoll is the wait after a successful poll that took held. While the
// server long-polls, the next poll starts at once: after a new bundle, or
// after a poll it held for at least half the wait (it timed out with no
// change). A server that claims long polling but answers at once is
// polled as without it, so a broken one cannot make the loader spin.
func (l *bundleLoader) nextPoll(held time.Duration, activated bool) time.Duration {
	if l.longPoll > 0 && l.http.longPoll.Load() && (activated || held >= l.longPoll/2) {
		return 0
	}
	return l.minD + rand.N(l.maxD-l.minD+1)
}
