package toolguard

import (
	"net/http"
	"net/url"
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
		require.Error(t, checkRedirectHop(chainOf(t, bad...)), "%v", bad)
	}
	// A response that does not say which request it answers.
	u, _ := url.Parse("http://a/")
	require.ErrorContains(t, checkRedirectHop(&http.Request{URL: u, Response: &http.Response{}}), "cannot be followed back")
}
