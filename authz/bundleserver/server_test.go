package bundleserver_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/authz/bundleserver"
	"github.com/ztagent/ztagent/internal/bundletest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const allowIfOpen = `package ztagent
decision := {"allow": data.open == true}`

func sign(t *testing.T, k bundletest.Key, data string) []byte {
	t.Helper()
	raw, err := bundleserver.Sign(bundleserver.Bundle{
		Modules: map[string]string{"policy.rego": allowIfOpen},
		Data:    []byte(data),
	}, bundleserver.SigningKey{PEM: k.Private, Algorithm: "ES256"})
	require.NoError(t, err)
	return raw
}

func newServer(t *testing.T, opts ...bundleserver.Option) (*bundleserver.Server, *httptest.Server) {
	t.Helper()
	srv, err := bundleserver.New(opts...)
	require.NoError(t, err)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { srv.Close(); hs.Close() })
	return srv, hs
}

func get(t *testing.T, ctx context.Context, url string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp
}

func TestServeAndHold(t *testing.T) {
	k := bundletest.NewKey(t)
	srv, hs := newServer(t)
	ctx := context.Background()

	require.Equal(t, http.StatusNotFound, get(t, ctx, hs.URL).StatusCode, "nothing published")
	resp, err := http.Post(hs.URL, "text/plain", nil)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	v1 := sign(t, k, `{"open": false}`)
	etag, err := srv.Publish(v1)
	require.NoError(t, err)
	again, err := srv.Publish(v1)
	require.NoError(t, err)
	require.Equal(t, etag, again, "the same bytes, the same ETag")

	resp = get(t, ctx, hs.URL)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, etag, resp.Header.Get("ETag"))
	require.Equal(t, bundleserver.ContentType, resp.Header.Get("Content-Type"), "says it holds polls")

	resp = get(t, ctx, hs.URL, "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, resp.StatusCode, "no wait asked: answered at once")
	resp = get(t, ctx, hs.URL, "If-None-Match", `"older", `+etag)
	require.Equal(t, http.StatusNotModified, resp.StatusCode, "any ETag of the list")

	// A held poll is answered by the next Publish, with the new bundle.
	got := make(chan *http.Response, 1)
	go func() { got <- get(t, ctx, hs.URL, "If-None-Match", etag, "Prefer", "modes=snapshot,delta;wait=30") }()
	require.Eventually(t, func() bool { return srv.Waiting() == 1 }, 5*time.Second, 5*time.Millisecond)
	etag2, err := srv.Publish(sign(t, k, `{"open": true}`))
	require.NoError(t, err)
	resp = <-got
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, etag2, resp.Header.Get("ETag"))
	require.Zero(t, srv.Waiting())

	// A held poll with no change is answered 304 at its wait.
	start := time.Now()
	resp = get(t, ctx, hs.URL, "If-None-Match", etag2, "Prefer", "wait=1")
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	require.GreaterOrEqual(t, time.Since(start), time.Second)

	// A client that leaves is no longer counted.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(cctx, http.MethodGet, hs.URL, nil)
		req.Header.Set("If-None-Match", etag2)
		req.Header.Set("Prefer", "wait=30")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return srv.Waiting() == 1 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	<-done
	require.Eventually(t, func() bool { return srv.Waiting() == 0 }, 5*time.Second, 5*time.Millisecond)

	// Close answers held polls at once and holds no more.
	go func() { got <- get(t, ctx, hs.URL, "If-None-Match", etag2, "Prefer", "wait=30") }()
	require.Eventually(t, func() bool { return srv.Waiting() == 1 }, 5*time.Second, 5*time.Millisecond)
	srv.Close()
	require.Equal(t, http.StatusNotModified, (<-got).StatusCode)
	start = time.Now()
	require.Equal(t, http.StatusNotModified, get(t, ctx, hs.URL, "If-None-Match", etag2, "Prefer", "wait=30").StatusCode)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, http.StatusOK, get(t, ctx, hs.URL).StatusCode, "still serves the bundle")
}

func TestMaxWaitCapsTheHold(t *testing.T) {
	srv, hs := newServer(t, bundleserver.WithMaxWait(200*time.Millisecond))
	etag, err := srv.Publish(sign(t, bundletest.NewKey(t), `{}`))
	require.NoError(t, err)
	start := time.Now()
	resp := get(t, context.Background(), hs.URL, "If-None-Match", etag, "Prefer", "wait=3600")
	require.Equal(t, http.StatusNotModified, resp.StatusCode)
	require.Less(t, time.Since(start), 3*time.Second)

	for _, bad := range []bundleserver.Option{bundleserver.WithMaxWait(0), bundleserver.WithMaxWait(-time.Second), nil} {
		_, err := bundleserver.New(bad)
		require.Error(t, err)
	}
}

// Publish refuses what every engine would refuse, and keeps serving what
// it served.
func TestPublishRefusesAndChangesNothing(t *testing.T) {
	k := bundletest.NewKey(t)
	srv, hs := newServer(t)
	etag, err := srv.Publish(sign(t, k, `{"open": true}`))
	require.NoError(t, err)

	unsigned := func() []byte {
		// A bundle with a module and no .signatures.json: Sign always
		// signs, so write the tarball by hand.
		return tarGz(t, map[string]string{"/policy.rego": allowIfOpen, "/data.json": `{}`})
	}()
	for name, raw := range map[string][]byte{
		"empty":    nil,
		"garbage":  []byte("not a tarball"),
		"unsigned": unsigned,
		"bad data": tarGz(t, map[string]string{"/data.json": `{`}),
	} {
		_, err := srv.Publish(raw)
		require.Error(t, err, name)
	}
	resp := get(t, context.Background(), hs.URL)
	require.Equal(t, etag, resp.Header.Get("ETag"))
}

func TestSignRefuses(t *testing.T) {
	k := bundletest.NewKey(t)
	mods := map[string]string{"p.rego": allowIfOpen}
	for name, c := range map[string]struct {
		b bundleserver.Bundle
		k bundleserver.SigningKey
	}{
		"no modules":      {bundleserver.Bundle{}, bundleserver.SigningKey{PEM: k.Private, Algorithm: "ES256"}},
		"no key":          {bundleserver.Bundle{Modules: mods}, bundleserver.SigningKey{}},
		"not a key":       {bundleserver.Bundle{Modules: mods}, bundleserver.SigningKey{PEM: "x"}},
		"data not object": {bundleserver.Bundle{Modules: mods, Data: []byte(`[1]`)}, bundleserver.SigningKey{PEM: k.Private, Algorithm: "ES256"}},
		"two documents":   {bundleserver.Bundle{Modules: mods, Data: []byte(`{} {}`)}, bundleserver.SigningKey{PEM: k.Private, Algorithm: "ES256"}},
		"public key":      {bundleserver.Bundle{Modules: mods}, bundleserver.SigningKey{PEM: k.Public, Algorithm: "ES256"}},
	} {
		_, err := bundleserver.Sign(c.b, c.k)
		require.Error(t, err, name)
	}
}

// An engine polling with LongPoll learns of a new bundle in about one
// round trip, though its polling delays are far longer.
func TestEngineLongPolls(t *testing.T) {
	k := bundletest.NewKey(t)
	srv, hs := newServer(t)
	_, err := srv.Publish(sign(t, k, `{"open": false}`))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	eng, err := authz.New(ctx, authz.WithBundle(authz.BundleConfig{
		URL: hs.URL, Resource: "bundles/authz.tar.gz", PublicKey: k.Public, Algorithm: "ES256",
		MinDelay: time.Minute, MaxDelay: time.Minute, LongPoll: 30 * time.Second,
	}))
	require.NoError(t, err)
	defer func() { require.NoError(t, eng.Close()) }()
	before := eng.Revision()
	require.Eventually(t, func() bool { return srv.Waiting() == 1 }, 10*time.Second, 5*time.Millisecond,
		"after its first download the engine holds a poll")

	start := time.Now()
	_, err = srv.Publish(sign(t, k, `{"open": true}`))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return eng.Revision() != before }, 10*time.Second, time.Millisecond)
	t.Logf("a new bundle took effect %s after it was published", time.Since(start))
	require.Less(t, time.Since(start), time.Minute, "not by polling: its delays are a minute")
	d, err := eng.Decide(ctx, &authz.Input{})
	require.NoError(t, err)
	require.True(t, d.Allow)
	require.Eventually(t, func() bool { return srv.Waiting() == 1 }, 10*time.Second, 5*time.Millisecond,
		"and holds the next poll at once")
}
