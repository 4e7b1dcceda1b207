package egress

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// chainOf builds the request an http.Client makes for the last URL after
// following redirects through the ones before it.
func chainOf(t *testing.T, urls ...string) *http.Request {
	t.Helper()
	var req *http.Request
	for _, s := range urls {
		u, err := url.Parse(s)
		require.NoError(t, err)
		next := &http.Request{URL: u}
		if req != nil {
			next.Response = &http.Response{Request: req}
		}
		req = next
	}
	return req
}

func TestCheckRedirectHop(t *testing.T) {
	for _, ok := range [][]string{
		{"http://a:8080/"},                                     // not a redirect
		{"http://a/", "https://a/"},                            // the upgrade
		{"http://a:8080/", "https://a/"},                       // to the default port
		{"http://a:8080/", "http://b:8080/x"},                  // another host, the same port
		{"https://a/", "https://b/", "https://a/y"},            // default ports all along
		{"http://a:8080/", "http://b:8080/", "http://a:8080/"}, // back and forth on one port
	} {
		require.NoError(t, checkRedirectHop(chainOf(t, ok...)), "%v", ok)
	}
	for _, bad := range [][]string{
		{"http://a:8080/", "http://a:6379/"},                   // another port of the host
		{"http://a:8080/", "http://b:6379/"},                   // another port of another host
		{"http://a:8080/", "http://b:8080/", "http://a:6379/"}, // through a second host
		{"https://a/", "http://a/"},                            // a downgrade
		{"https://a/", "https://b/", "http://c/"},              // a downgrade further on
		{"http://a:8080/", "https://a:8443/"},                  // the upgrade, to another port
	} {
		require.ErrorIs(t, checkRedirectHop(chainOf(t, bad...)), ErrEgressDenied, "%v", bad)
	}
	// A response that does not say which request it answers.
	u, _ := url.Parse("http://a/")
	err := checkRedirectHop(&http.Request{URL: u, Response: &http.Response{}})
	require.ErrorContains(t, err, "cannot be followed back")
	require.ErrorIs(t, err, ErrEgressDenied)
}

// A request sent while the call was live gets its connection after the
// call returned (here the base transport ends the grant just before it
// connects): the connection is refused before the request is written.
func TestConnectionAfterTheCallReturnedIsRefused(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	e := &Grant{hosts: []string{"127.0.0.1"}}
	ctx := context.WithValue(context.Background(), grantKey{}, e)
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	rt := Transport(roundTripper(func(r *http.Request) (*http.Response, error) {
		e.ended.Store(true)
		return base.RoundTrip(r)
	}))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	_, err = rt.RoundTrip(req)
	require.ErrorIs(t, err, ErrEgressDenied)
	require.ErrorIs(t, err, errCallEnded)
	require.ErrorContains(t, err, "egress to 127.0.0.1 refused: request the guarded call has returned")
	require.Zero(t, hits.Load())
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
