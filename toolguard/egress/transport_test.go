package egress_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ztagent/ztagent/toolguard/egress"
)

// A connection Transport(nil) keeps for reuse holds goroutines of net/http
// while the server stays up; closing the idle connections, through the
// package or through the client, leaves none behind, so a user's goleak
// check passes.
func TestCloseIdleConnectionsLeavesNoGoroutines(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	before := goleak.IgnoreCurrent()
	ctx, grant := egress.WithGrant(context.Background(), []string{"127.0.0.1"}, false, nil)
	defer grant.End()
	client := &http.Client{Transport: egress.Transport(nil)}

	for name, closeIdle := range map[string]func(){
		"egress.CloseIdleConnections": egress.CloseIdleConnections,
		"http.Client":                 client.CloseIdleConnections,
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
			require.NoError(t, err)
			resp, err := client.Do(req)
			require.NoError(t, err)
			_, err = io.Copy(io.Discard, resp.Body)
			require.NoError(t, err)
			require.NoError(t, resp.Body.Close())
			require.True(t, idleConnHeld(), "the test shows nothing: no connection is kept")

			closeIdle()
			require.NoError(t, goleak.Find(before))
		})
	}
}

// idleConnHeld reports whether a goroutine of net/http is reading from a
// pooled client connection.
func idleConnHeld() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "net/http.(*persistConn).readLoop")
}
