package toolguard_test

import (
	"context"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/toolguard"
	"github.com/ztagent/ztagent/toolguard/egress"
)

type pathArgs struct {
	Path string `json:"path"`
}

// inGrantedCall runs fn as the tool of one call the decider allows, whose
// files are the whole of root, and returns the context the tool ran under
// and fn's error.
func inGrantedCall(t *testing.T, dec authz.Decider, root string, fn func(context.Context) error) (context.Context, error) {
	t.Helper()
	f := newFixture(t, toolguard.WithDecider(dec))
	var ran error
	var kept context.Context
	call, err := toolguard.Wrap(f.guard, readDocTool(root), func(ctx context.Context, _ pathArgs) (int, error) {
		kept = ctx
		ran = fn(ctx)
		return 0, nil
	})
	require.NoError(t, err)
	_, err = call(context.Background(), pathArgs{Path: root})
	require.NoError(t, err, "the call itself is allowed")
	return kept, ran
}

// get is a tool body that GETs target with client.
func get(client *http.Client, target string, edit ...func(*http.Request)) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		for _, e := range edit {
			e(req)
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}
}

// Every refusal by the grant matches ErrEgressDenied through what wraps it
// on the way out (an http.Client's *url.Error, a dialer's *net.OpError), and
// keeps the text it had.
func TestEveryRefusalIsErrEgressDenied(t *testing.T) {
	_, root := pathTree(t)
	vic, hits := victim(t)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, vic.URL+"/", http.StatusFound) // another port of the granted host
	}))
	t.Cleanup(front.Close)
	guarded := &http.Transport{DialContext: egress.Dialer().DialContext}
	rebound := &http.Transport{DialContext: resolverDialer(map[string]string{"docs.example.com": "127.0.0.1"}, false)}
	t.Cleanup(guarded.CloseIdleConnections)
	t.Cleanup(rebound.CloseIdleConnections)
	client := &http.Client{Transport: egress.Transport(guarded)}
	ownDialer := &http.Client{Transport: egress.Transport(rebound)}

	for _, tc := range []struct {
		name  string
		hosts []string
		run   func(context.Context) error
		text  string
	}{
		{"request to a host not granted", []string{"docs.example.com"},
			get(client, "http://evil.example/"), "egress to evil.example refused: not granted to this call"},
		{"request with another scheme", []string{"docs.example.com"},
			get(client, "ftp://docs.example.com/"), `egress refused: scheme "ftp"`},
		{"request with userinfo", []string{"docs.example.com"},
			get(client, "http://u:p@docs.example.com/"), "URL carries userinfo"},
		{"request to a host that cannot be read", []string{"docs.example.com"},
			get(client, "http://1.2.3.4.5/"), "toolguard: egress refused: host"},
		{"request with a Host header not granted", []string{"127.0.0.1"},
			get(client, vic.URL, func(r *http.Request) { r.Host = "internal.example" }), "Host header"},
		{"redirect hop to another port", []string{"127.0.0.1"},
			get(client, front.URL+"/"), "a redirect to port " + port(t, vic)},
		{"dial to a private address", []string{"docs.example.com"},
			func(ctx context.Context) error { return egress.DialControl(ctx, "tcp", "127.0.0.1:80", nil) },
			"egress to 127.0.0.1 refused: loopback address"},
		{"dial to something not an address", []string{"docs.example.com"},
			func(ctx context.Context) error { return egress.DialControl(ctx, "tcp", "docs.example.com:80", nil) },
			"not an IP address and port"},
		{"dial through Dialer", []string{"docs.example.com"},
			func(ctx context.Context) error {
				_, err := egress.Dialer().DialContext(ctx, "tcp", vic.Listener.Addr().String())
				return err
			}, "loopback address"},
		{"connection checked after rebinding", []string{"docs.example.com"},
			get(ownDialer, "http://docs.example.com:"+port(t, vic)+"/"), "egress to 127.0.0.1 refused: loopback address"},
		{"open outside the grant", nil,
			func(ctx context.Context) error {
				_, err := egress.ReadFile(ctx, filepath.Join(filepath.Dir(root), "secret"))
				return err
			}, "not a path authorized for this call"},
		{"open through a symlink", nil,
			func(ctx context.Context) error {
				_, err := egress.ReadFile(ctx, "alias/a.txt")
				return err
			}, "goes through a symlink"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := inGrantedCall(t, grantingDecider(false, tc.hosts...), root, tc.run)
			require.ErrorIs(t, err, egress.ErrEgressDenied)
			require.ErrorContains(t, err, tc.text)
		})
	}
	require.Zero(t, hits.Load(), "a refused request reached the victim")
}

// Outside a guarded call, and with the context of one that has returned,
// the network and the files are refused the same recognizable way, and
// the cause stays visible.
func TestRefusalsOutsideAndAfterTheCall(t *testing.T) {
	_, root := pathTree(t)
	vic, hits := victim(t)
	client := &http.Client{Transport: egress.Transport(nil)}
	kept, _ := inGrantedCall(t, grantingDecider(true, "127.0.0.1"), root, func(context.Context) error { return nil })
	for name, ctx := range map[string]context.Context{
		"not within a guarded call":     context.Background(),
		"the guarded call has returned": kept,
	} {
		t.Run(name, func(t *testing.T) {
			for what, err := range map[string]error{
				"request": get(client, vic.URL)(ctx),
				"dial":    egress.DialControl(ctx, "tcp", vic.Listener.Addr().String(), nil),
				"open": func() error {
					_, err := egress.ReadFile(ctx, filepath.Join(root, "notes", "a.txt"))
					return err
				}(),
			} {
				require.ErrorIs(t, err, egress.ErrEgressDenied, what)
				require.ErrorContains(t, err, name, what)
			}
		})
	}
	require.Zero(t, hits.Load())
}

// What the grant allowed and then failed on its own is not a refusal: a
// file that is not there, a peer that refuses the connection.
func TestFailuresOfWhatWasGrantedAreNotRefusals(t *testing.T) {
	_, root := pathTree(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().String()
	require.NoError(t, l.Close())

	_, err = inGrantedCall(t, grantingDecider(false), root, func(ctx context.Context) error {
		_, err := egress.ReadFile(ctx, "notes/missing.txt")
		return err
	})
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.NotErrorIs(t, err, egress.ErrEgressDenied)

	_, err = inGrantedCall(t, grantingDecider(false, "127.0.0.1"), root, func(ctx context.Context) error {
		_, err := egress.Dialer().DialContext(ctx, "tcp", closed)
		return err
	})
	require.Error(t, err, "nothing listens there")
	require.NotErrorIs(t, err, egress.ErrEgressDenied)
}
