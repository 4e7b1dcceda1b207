package toolguard_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/toolguard/egress"
)

// A redirect that keeps the port of the request the tool made passes the
// port check, so to an ungranted host only the host check stands in its way.
// Here nothing else would: both names resolve to the same loopback server,
// and the decision allows private addresses. The refused hop is never sent;
// granting the host too lets the same redirect through, which shows it is
// the host check, and nothing in the setup, that refuses it.
func TestEgressRedirectToAnUngrantedHostOnTheSamePort(t *testing.T) {
	var secret atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/secret" {
			secret.Add(1)
			return
		}
		_, p, err := net.SplitHostPort(r.Host) // the port the tool asked for
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, "http://internal.example:"+p+"/secret", http.StatusFound)
	}))
	t.Cleanup(front.Close)
	base := &http.Transport{DialContext: resolverDialer(map[string]string{
		"docs.example.com": "127.0.0.1", "internal.example": "127.0.0.1",
	}, true)}
	t.Cleanup(base.CloseIdleConnections)
	client := &http.Client{Transport: egress.Transport(base)}
	start := "http://docs.example.com:" + port(t, front) + "/start"

	err := fetchWith(t, grantingDecider(true, "docs.example.com"), client, start)
	require.ErrorContains(t, err, "toolguard: egress to internal.example refused: not granted to this call")
	require.Zero(t, secret.Load(), "the redirect target was served")

	require.NoError(t, fetchWith(t, grantingDecider(true, "docs.example.com", "internal.example"), client, start))
	require.EqualValues(t, 1, secret.Load())
}
