package creds

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// minterServer serves a minter's endpoints the way a deployment would.
func minterServer(t *testing.T, m *Minter, authorize func(*http.Request) bool) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/jwks", m.JWKSHandler())
	mux.Handle("/revoked", m.RevocationListHandler())
	mux.Handle("/introspect", m.IntrospectionHandler(authorize))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestJWKSHandler(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	srv := minterServer(t, m, nil)
	resp, err := srv.Client().Get(srv.URL + "/jwks")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/jwk-set+json", resp.Header.Get("Content-Type"))
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&raw))
	require.Len(t, raw.Keys, 1)
	k := raw.Keys[0]
	require.Equal(t, "OKP", k["kty"])
	require.Equal(t, "Ed25519", k["crv"])
	require.Equal(t, "EdDSA", k["alg"])
	require.Equal(t, "sig", k["use"])
	require.Equal(t, m.KeyID(), k["kid"])
	require.NotContains(t, k, "d", "never the private key")

	post, err := srv.Client().Post(srv.URL+"/jwks", "text/plain", nil)
	require.NoError(t, err)
	post.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, post.StatusCode)
}

func TestRemoteVerifierAccepts(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	srv := minterServer(t, m, nil)
	v, err := NewRemoteVerifier(ctx, srv.URL+"/jwks", defaultIssuer,
		WithHTTPClient(srv.Client()), WithRevocationChecker(m),
		WithVerifierOptions(WithClock(clk.Now)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, v.Close()); require.NoError(t, v.Close()) })

	r := testRequest()
	r.Delegation = []string{"user:alice@example.com"}
	c, err := m.Issue(ctx, r)
	require.NoError(t, err)
	claims, err := v.Verify(ctx, c.Token(), r.Audience)
	require.NoError(t, err)
	require.Equal(t, "user:alice@example.com", claims.Subject)
	require.Equal(t, r.Subject, claims.Agent())

	// Same checks as the local verifier: revocation, audience, expiry.
	_, err = v.Verify(ctx, c.Token(), "https://other.example.com")
	require.ErrorIs(t, err, ErrAudience)
	require.NoError(t, m.Revoke(ctx, c.ID))
	_, err = v.Verify(ctx, c.Token(), r.Audience)
	require.ErrorIs(t, err, ErrRevoked)
	c2, err := m.Issue(ctx, r)
	require.NoError(t, err)
	clk.Advance(c2.TTL())
	_, err = v.Verify(ctx, c2.Token(), r.Audience)
	require.ErrorIs(t, err, ErrExpired)
}

func TestRemoteVerifierUnknownKeyIsSignatureError(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	key := mustKey(t)
	m := newTestMinter(t, clk, WithSigningKey(key))
	other := newTestMinter(t, clk) // a second issuer with the same iss, another key
	srv := minterServer(t, m, nil)
	v, err := NewRemoteVerifier(ctx, srv.URL+"/jwks", defaultIssuer,
		WithHTTPClient(srv.Client()), WithRevocationChecker(NoRevocationCheck()),
		WithVerifierOptions(WithClock(clk.Now)))
	require.NoError(t, err)
	defer v.Close()
	c, err := other.Issue(ctx, testRequest())
	require.NoError(t, err)
	for range 3 { // the refetch for an unknown kid is rate limited, not repeated per token
		_, err = v.Verify(ctx, c.Token(), c.Audience)
		require.ErrorIs(t, err, ErrSignature)
		require.ErrorContains(t, err, "not in the issuer's JWK Set")
	}
	// A token without kid, made with the published key, is still accepted:
	// the set has one key, so the choice is unambiguous.
	tok := forge(t, jose.EdDSA, key, "at+jwt", goodClaims())
	_, err = v.Verify(ctx, tok, "https://mail.example.com")
	require.NoError(t, err)
}

// rotatingJWKS serves one minter's JWK Set, then, once rotate is called,
// another's, slowly (so concurrent verifies overlap a fetch), counting
// fetches. Before serving the new set it waits for release, if set.
type rotatingJWKS struct {
	fetches atomic.Int32
	rotated atomic.Bool
	before  http.Handler
	after   http.Handler
	arrived chan struct{} // receives one value per fetch of the new set
	release chan struct{}
}

func (j *rotatingJWKS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	j.fetches.Add(1)
	if !j.rotated.Load() {
		j.before.ServeHTTP(w, r)
		return
	}
	j.arrived <- struct{}{}
	if j.release != nil {
		<-j.release
	}
	time.Sleep(20 * time.Millisecond)
	j.after.ServeHTTP(w, r)
}

func newRotatingVerifier(t *testing.T, j *rotatingJWKS, clk *fakeClock) *Verifier {
	t.Helper()
	srv := httptest.NewServer(j)
	t.Cleanup(srv.Close)
	v, err := NewRemoteVerifier(context.Background(), srv.URL, defaultIssuer, WithHTTPClient(srv.Client()),
		WithRevocationChecker(NoRevocationCheck()), WithVerifierOptions(WithClock(clk.Now)))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, v.Close()) })
	require.EqualValues(t, 1, j.fetches.Load())
	// As if the rate limit's interval had passed since that first fetch.
	v.keys.(*remoteKeys).lastFetch = time.Time{}
	j.rotated.Store(true)
	return v
}

// WithClock given to NewRemoteVerifier is the clock of all of it: the
// verifier's validity checks, and the rate limit on fetching the key set
// again for a key id it does not know.
func TestRemoteVerifierRunsOnWithClock(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	old, rotated := newTestMinter(t, clk), newTestMinter(t, clk)
	j := &rotatingJWKS{before: old.JWKSHandler(), after: rotated.JWKSHandler(), arrived: make(chan struct{}, 100)}
	srv := httptest.NewServer(j)
	defer srv.Close()
	v, err := NewRemoteVerifier(ctx, srv.URL, defaultIssuer, WithHTTPClient(srv.Client()),
		WithRevocationChecker(NoRevocationCheck()), WithClock(clk.Now))
	require.NoError(t, err)
	defer func() { require.NoError(t, v.Close()) }()

	c, err := old.Issue(ctx, testRequest())
	require.NoError(t, err)
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.NoError(t, err, "in date by the clock it was given")

	// The issuer rotates. Within jwksMinRefetch of the first load, by
	// the clock, the new key id is not fetched; once it has passed, it is.
	j.rotated.Store(true)
	clk.Advance(jwksMinRefetch - time.Second)
	c2, err := rotated.Issue(ctx, testRequest())
	require.NoError(t, err)
	_, err = v.Verify(ctx, c2.Token(), c2.Audience)
	require.ErrorIs(t, err, ErrSignature)
	require.EqualValues(t, 1, j.fetches.Load(), "rate-limited on the clock")
	clk.Advance(time.Second)
	_, err = v.Verify(ctx, c2.Token(), c2.Audience)
	require.NoError(t, err)
	require.EqualValues(t, 2, j.fetches.Load())

	clk.Advance(time.Hour)
	_, err = v.Verify(ctx, c2.Token(), c2.Audience)
	require.ErrorIs(t, err, ErrExpired, "expired by the clock it was given")
}

// Many tokens naming a new kid at once cost one fetch, not one each: the
// rate limit is checked and spent under the fetch lock.
func TestRemoteVerifierRefetchesOnceForConcurrentUnknownKid(t *testing.T) {
	clk := newFakeClock()
	old, rotated := newTestMinter(t, clk), newTestMinter(t, clk)
	j := &rotatingJWKS{before: old.JWKSHandler(), after: rotated.JWKSHandler(), arrived: make(chan struct{}, 100)}
	v := newRotatingVerifier(t, j, clk)
	c, err := rotated.Issue(context.Background(), testRequest())
	require.NoError(t, err)

	const n = 16
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := v.Verify(context.Background(), c.Token(), c.Audience)
			errs <- err
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
	require.EqualValues(t, 2, j.fetches.Load(), "the first load and one refetch")
}

// A verify that finds another's refetch in flight waits for it no longer
// than its own context allows.
func TestRemoteVerifierDoesNotWaitPastItsContextForARefetch(t *testing.T) {
	clk := newFakeClock()
	old, rotated := newTestMinter(t, clk), newTestMinter(t, clk)
	j := &rotatingJWKS{before: old.JWKSHandler(), after: rotated.JWKSHandler(),
		arrived: make(chan struct{}, 1), release: make(chan struct{})}
	v := newRotatingVerifier(t, j, clk)
	c, err := rotated.Issue(context.Background(), testRequest())
	require.NoError(t, err)

	first := make(chan error, 1)
	go func() {
		_, err := v.Verify(context.Background(), c.Token(), c.Audience)
		first <- err
	}()
	<-j.arrived // the first verify's refetch is at the server, held there

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	second := make(chan error, 1)
	go func() {
		_, err := v.Verify(ctx, c.Token(), c.Audience)
		second <- err
	}()
	select {
	case err := <-second:
		require.ErrorIs(t, err, ErrSignature, "the key is not known yet")
	case <-time.After(5 * time.Second):
		close(j.release)
		require.FailNow(t, "the verify waited past its deadline for another's fetch")
	}
	close(j.release)
	require.NoError(t, <-first, "the refetch found the new key")
	require.EqualValues(t, 2, j.fetches.Load())
}

func TestRemoteVerifierJWKSLoadFailures(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ecJWK, err := json.Marshal(jose.JSONWebKey{Key: &ec.PublicKey, KeyID: "ec", Algorithm: "ES256", Use: "sig"})
	require.NoError(t, err)
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"404", http.StatusNotFound, "not found", "HTTP status 404"},
		{"500", http.StatusInternalServerError, "", "HTTP status 500"},
		{"bad JSON", http.StatusOK, "{not json", "not a JWK Set"},
		{"not a set", http.StatusOK, `{"kty":"OKP"}`, `no "keys" member`},
		{"empty", http.StatusOK, `{"keys":[]}`, "none an Ed25519"},
		{"only EC keys", http.StatusOK, `{"keys":[` + string(ecJWK) + `]}`, "none an Ed25519"},
		{"too large", http.StatusOK, `{"keys":[],"pad":"` + string(make([]byte, maxRemoteBody)) + `"}`, "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			v, err := NewRemoteVerifier(context.Background(), srv.URL, defaultIssuer,
				WithHTTPClient(srv.Client()), WithRevocationChecker(NoRevocationCheck()))
			require.ErrorContains(t, err, tt.want)
			require.ErrorContains(t, err, "creds: remote verifier: jwks")
			require.Nil(t, v)
		})
	}
}

// Every endpoint URL passes one check, whose errors name the URL without
// quoting it: it may carry a password.
func TestCheckEndpoint(t *testing.T) {
	for _, ok := range []string{"https://keys.example.com/jwks", "http://127.0.0.1:8080/jwks", "http://localhost/x", "http://[::1]/x"} {
		require.NoError(t, checkEndpoint("jwks URL", ok), ok)
	}
	for raw, want := range map[string]string{
		"":                                  "jwks URL is required",
		"keys.example.com/jwks":             "absolute URL",
		"https://u:secret@keys.example.com": "without userinfo",
		"https://keys.example.com/#x":       "fragment",
		"http://keys.example.com/jwks":      "must be https",
		"ftp://keys.example.com/jwks":       "want https",
		"https://u:secret@bad host/%zz":     "not a valid URL",
	} {
		err := checkEndpoint("jwks URL", raw)
		require.ErrorContains(t, err, want, raw)
		require.NotContains(t, err.Error(), "secret", raw)
	}
}

func TestNewRemoteVerifierConfig(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	srv := minterServer(t, m, nil)
	tests := []struct {
		name string
		url  string
		opts []RemoteOption
		want string
	}{
		{"no revocation checker", srv.URL + "/jwks", nil, "no revocation checker"},
		{"plain http off loopback", "http://keys.example.com/jwks", []RemoteOption{WithRevocationChecker(m)}, "want https"},
		{"userinfo", "https://u:p@keys.example.com/jwks", []RemoteOption{WithRevocationChecker(m)}, "user info"},
		{"no URL", "", []RemoteOption{WithRevocationChecker(m)}, "jwks URL is required"},
		{"relative", "/jwks", []RemoteOption{WithRevocationChecker(m)}, "absolute URL"},
		{"fragment", "https://keys.example.com/jwks#keys", []RemoteOption{WithRevocationChecker(m)}, "fragment"},
		{"nil client", srv.URL + "/jwks", []RemoteOption{WithRevocationChecker(m), WithHTTPClient(nil)}, "nil HTTP client"},
		{"bad verifier option", srv.URL + "/jwks", []RemoteOption{WithRevocationChecker(m), WithVerifierOptions(WithLeeway(time.Hour))}, "leeway"},
		{"unreachable", "http://127.0.0.1:1/jwks", []RemoteOption{WithRevocationChecker(m)}, "fetch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]RemoteOption{WithHTTPClient(srv.Client())}, tt.opts...)
			v, err := NewRemoteVerifier(context.Background(), tt.url, defaultIssuer, opts...)
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, v)
		})
	}
}

// A verifier that cannot be made leaves nothing behind: invalid options are
// refused before any request, and a first fetch that fails starts no
// refresh loop.
func TestNewRemoteVerifierFailsCleanly(t *testing.T) {
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	opts := []RemoteOption{WithHTTPClient(srv.Client()), WithRevocationChecker(NoRevocationCheck()), WithRefreshInterval(time.Millisecond)}

	v, err := NewRemoteVerifier(context.Background(), srv.URL, defaultIssuer, append(opts, WithVerifierOptions(WithLeeway(-time.Second)))...)
	require.ErrorContains(t, err, "leeway")
	require.Nil(t, v)
	v, err = NewRemoteVerifier(context.Background(), srv.URL, "", opts...)
	require.ErrorContains(t, err, "issuer")
	require.Nil(t, v)
	require.Zero(t, fetches.Load(), "invalid options are refused before any fetch")

	v, err = NewRemoteVerifier(context.Background(), srv.URL, defaultIssuer, opts...)
	require.ErrorContains(t, err, "HTTP status 404")
	require.Nil(t, v)
	require.EqualValues(t, 1, fetches.Load())
	srv.Close()
	goleak.VerifyNone(t)
	require.EqualValues(t, 1, fetches.Load(), "no refresh loop polls after a failed first fetch")
}

func TestRemoteVerifierBackgroundRefresh(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	var mu sync.Mutex
	var current http.Handler = m.JWKSHandler()
	swap := make(chan http.Handler, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		select {
		case h := <-swap:
			current = h
		default:
		}
		h := current
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	v, err := NewRemoteVerifier(ctx, srv.URL, defaultIssuer, WithHTTPClient(srv.Client()),
		WithRevocationChecker(NoRevocationCheck()), WithRefreshInterval(10*time.Millisecond),
		WithVerifierOptions(WithClock(clk.Now)))
	require.NoError(t, err)
	defer v.Close()

	// The issuer rotates its key; the verifier picks the new set up in the
	// background, without any token asking for it.
	rotated := newTestMinter(t, clk)
	swap <- rotated.JWKSHandler()
	c, err := rotated.Issue(ctx, testRequest())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, ok := v.keys.(*remoteKeys).lookup(rotated.KeyID())
		return ok
	}, 5*time.Second, 10*time.Millisecond)
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.NoError(t, err)

	// A refresh that fails keeps the known keys.
	var failed atomic.Int32
	swap <- http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failed.Add(1)
		http.NotFound(w, r)
	})
	// The loop fetches one at a time: a second failed request means the
	// first refresh has come back with its error.
	require.Eventually(t, func() bool { return failed.Load() >= 2 }, 5*time.Second, 10*time.Millisecond)
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.NoError(t, err)
}

// The default fetch client follows a redirect only to a URL that could have
// been configured: a redirect to clear text on another host (a
// misconfigured proxy) would let whoever is on the way swap the keys or the
// revocation list. It is refused before anything is sent there.
func TestRemoteFetchRedirects(t *testing.T) {
	ctx := context.Background()
	m := newTestMinter(t, newFakeClock())
	keys := minterServer(t, m, nil)
	redirectTo := func(target string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target+r.URL.Path, http.StatusFound)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	clearText := redirectTo("http://keys.example.invalid")
	_, err := NewRemoteVerifier(ctx, clearText.URL+"/jwks", m.Issuer(), WithRevocationChecker(NoRevocationCheck()))
	require.ErrorContains(t, err, "redirect target must be https")
	_, err = RemoteRevocations(ctx, clearText.URL+"/revoked")
	require.ErrorContains(t, err, "redirect target must be https")
	require.NotContains(t, err.Error(), "/revoked", "errors never quote a URL")

	// To loopback, as the configured URL may be, a redirect is followed.
	moved := redirectTo(keys.URL)
	v, err := NewRemoteVerifier(ctx, moved.URL+"/jwks", m.Issuer(), WithRevocationChecker(NoRevocationCheck()))
	require.NoError(t, err)
	require.NoError(t, v.Close())
	l, err := RemoteRevocations(ctx, moved.URL+"/revoked")
	require.NoError(t, err)
	require.NoError(t, l.Close())

	// A Location that is not a URL: net/http would quote it, query and all.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", "https://keys.example/%zz?access_token=SECRET")
		w.WriteHeader(http.StatusFound)
	}))
	defer bad.Close()
	_, err = RemoteRevocations(ctx, bad.URL+"/revoked")
	require.ErrorContains(t, err, "Location header is not a URL")
	require.NotContains(t, err.Error(), "SECRET")

	// A loop ends.
	var loop *httptest.Server
	loop = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loop.URL+r.URL.Path, http.StatusFound)
	}))
	defer loop.Close()
	_, err = RemoteRevocations(ctx, loop.URL+"/revoked")
	require.ErrorContains(t, err, "stopped after 10 redirects")
}
