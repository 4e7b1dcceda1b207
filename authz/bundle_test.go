package authz_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

const bundleResource = "bundles/authz.tar.gz"

// signingKey is a key pair in the PEM forms OPA's signer and verifier read.
type signingKey struct {
	alg     string
	private string
	public  string
}

func newRSAKey(t *testing.T, alg string) signingKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	return signingKey{
		alg:     alg,
		private: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
		public:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
	}
}

func newECKey(t *testing.T, alg string, curve elliptic.Curve) signingKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	require.NoError(t, err)
	priv, err := x509.MarshalECPrivateKey(k)
	require.NoError(t, err)
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	return signingKey{
		alg:     alg,
		private: string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: priv})),
		public:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
	}
}

func (k signingKey) signer() *bundle.SigningConfig {
	return bundle.NewSigningConfig(k.private, k.alg, "")
}

// bundleSpec is what a test bundle holds.
type bundleSpec struct {
	modules  map[string]string
	data     map[string]any
	manifest bundle.Manifest
}

// openBundle is allowIf with data.open set: a bundle whose verdict shows.
func openBundle(open bool, revision string) bundleSpec {
	return bundleSpec{
		modules:  map[string]string{"ztagent/policy.rego": allowIf},
		data:     map[string]any{"open": open},
		manifest: bundle.Manifest{Revision: revision},
	}
}

// build writes spec as a bundle tarball with OPA's bundle package, signed
// with sc unless sc is nil.
func (spec bundleSpec) build(t *testing.T, sc *bundle.SigningConfig) []byte {
	t.Helper()
	b := bundle.Bundle{Manifest: spec.manifest, Data: spec.data}
	for path, src := range spec.modules {
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: "/" + path, Path: "/" + path, Raw: []byte(src)})
	}
	if sc != nil {
		require.NoError(t, b.GenerateSignature(sc, "global", false))
	}
	var buf bytes.Buffer
	require.NoError(t, bundle.NewWriter(&buf).Write(b))
	return buf.Bytes()
}

type tarFile struct {
	name string
	body []byte
}

func readTar(t *testing.T, tgz []byte) []tarFile {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	require.NoError(t, err)
	tr := tar.NewReader(zr)
	var files []tarFile
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		require.NoError(t, err)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		files = append(files, tarFile{name: h.Name, body: body})
	}
}

func writeTar(t *testing.T, files []tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write(f.body)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// tamper rewrites a bundle tarball after it was signed: edit returns the new
// body of a file, or nil to drop it; extra files are appended.
func tamper(t *testing.T, tgz []byte, edit func(name string, body []byte) []byte, extra ...tarFile) []byte {
	t.Helper()
	var out []tarFile
	for _, f := range readTar(t, tgz) {
		if body := edit(strings.TrimPrefix(f.name, "/"), f.body); body != nil {
			out = append(out, tarFile{name: f.name, body: body})
		}
	}
	return writeTar(t, append(out, extra...))
}

func fileOf(t *testing.T, tgz []byte, name string) []byte {
	t.Helper()
	for _, f := range readTar(t, tgz) {
		if strings.TrimPrefix(f.name, "/") == name {
			return f.body
		}
	}
	t.Fatalf("no %s in bundle", name)
	return nil
}

// signedRaw signs files as OPA does (JSON documents hashed as parsed
// values, other files as bytes) without going through bundle.Bundle, so a
// manifest that bundle.Manifest cannot express still carries a valid
// signature.
func signedRaw(t *testing.T, sc *bundle.SigningConfig, files map[string]string) []byte {
	t.Helper()
	h, err := bundle.NewSignatureHasher(bundle.SHA256)
	require.NoError(t, err)
	var infos []bundle.FileInfo
	var out []tarFile
	for name, body := range files {
		var v any = []byte(body)
		if strings.HasSuffix(name, ".json") || name == ".manifest" {
			require.NoError(t, json.Unmarshal([]byte(body), &v))
		}
		sum, err := h.HashFile(v)
		require.NoError(t, err)
		infos = append(infos, bundle.NewFile(name, hex.EncodeToString(sum), string(bundle.SHA256)))
		out = append(out, tarFile{name: "/" + name, body: []byte(body)})
	}
	token, err := bundle.GenerateSignedToken(infos, sc, "global")
	require.NoError(t, err)
	sigs, err := json.Marshal(bundle.SignaturesConfig{Signatures: []string{token}})
	require.NoError(t, err)
	return writeTar(t, append(out, tarFile{name: "/.signatures.json", body: sigs}))
}

// bundleServer is an HTTP bundle service whose bundle the test swaps. It
// answers If-None-Match with 304 as bundle servers do.
type bundleServer struct {
	*httptest.Server
	mu          sync.Mutex
	body        []byte
	etag        string
	status      int
	contentType string // set before the first request
	hits        atomic.Int64
	notModified atomic.Int64
}

func newBundleServer(t *testing.T) *bundleServer {
	t.Helper()
	s := &bundleServer{status: http.StatusOK, contentType: "application/gzip"}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

func (s *bundleServer) serve(body []byte) {
	sum := sha256.Sum256(body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag, s.status = body, fmt.Sprintf("%q", hex.EncodeToString(sum[:8])), http.StatusOK
}

func (s *bundleServer) fail(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = status
}

func (s *bundleServer) handle(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	s.mu.Lock()
	body, etag, status := s.body, s.etag, s.status
	s.mu.Unlock()
	switch {
	case r.URL.Path != "/"+bundleResource:
		http.NotFound(w, r)
	case status != http.StatusOK:
		http.Error(w, http.StatusText(status), status)
	case strings.Contains(r.Header.Get("If-None-Match"), etag):
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		s.notModified.Add(1)
	default:
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", s.contentType)
		_, _ = w.Write(body)
	}
}

func (s *bundleServer) config(k signingKey) authz.BundleConfig {
	return authz.BundleConfig{
		URL:       s.URL,
		Resource:  bundleResource,
		PublicKey: k.public,
		Algorithm: k.alg,
		MinDelay:  10 * time.Millisecond,
		MaxDelay:  40 * time.Millisecond,
	}
}

func requireVerdict(t *testing.T, eng *authz.Engine, allow bool, revision string) {
	t.Helper()
	d, err := eng.Decide(context.Background(), readInput())
	if allow {
		require.NoError(t, err)
	}
	require.Equal(t, allow, d.Allow)
	require.Equal(t, revision, d.Revision)
}

func startCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestBundleSignedLifecycle(t *testing.T) {
	key, other := newRSAKey(t, "RS256"), newRSAKey(t, "RS256")
	srv := newBundleServer(t)
	srv.serve(openBundle(true, "r1").build(t, key.signer()))

	var evs events
	eng, err := authz.New(startCtx(t, time.Minute), authz.WithBundle(srv.config(key)),
		authz.WithTimeout(testTimeout), authz.WithReloadHook(evs.add))
	require.NoError(t, err)
	defer eng.Close()

	rev1 := eng.Revision()
	require.NotEmpty(t, rev1)
	requireVerdict(t, eng, true, rev1)
	require.True(t, strings.HasPrefix(evs.last().Source, "bundle:authz@"), evs.last().Source)
	require.NoError(t, evs.last().Err)

	// The next good bundle is picked up; it closes the door.
	good2 := openBundle(false, "r2").build(t, key.signer())
	srv.serve(good2)
	eventually(t, "second bundle activated", func() bool { return eng.Revision() != rev1 })
	rev2 := eng.Revision()
	requireVerdict(t, eng, false, rev2)

	// Every candidate below would open the door if it were activated.
	signedOpen := func() []byte { return openBundle(true, "evil").build(t, key.signer()) }
	signedClosed := func() []byte { return openBundle(false, "evil").build(t, key.signer()) }
	cases := []struct {
		name    string
		serve   func()
		wantErr string
	}{
		{"unsigned", func() { srv.serve(openBundle(true, "evil").build(t, nil)) }, "bundle missing .signatures.json file"},
		{"signed with another key", func() { srv.serve(openBundle(true, "evil").build(t, other.signer())) }, "failed to verify JWT signature"},
		{"signature file stripped", func() {
			srv.serve(tamper(t, signedOpen(), func(name string, body []byte) []byte {
				if name == ".signatures.json" {
					return nil
				}
				return body
			}))
		}, "bundle missing .signatures.json file"},
		{"data modified after signing", func() {
			srv.serve(tamper(t, signedClosed(), func(name string, body []byte) []byte {
				if name == "data.json" {
					return []byte(`{"open": true}`)
				}
				return body
			}))
		}, "data.json: digest mismatch"},
		{"policy modified after signing", func() {
			srv.serve(tamper(t, signedClosed(), func(name string, body []byte) []byte {
				if name == "ztagent/policy.rego" {
					return []byte("package ztagent\n\ndecision := {\"allow\": true}\n")
				}
				return body
			}))
		}, "ztagent/policy.rego: digest mismatch"},
		{"module added after signing", func() {
			srv.serve(tamper(t, signedClosed(), func(_ string, body []byte) []byte { return body },
				tarFile{name: "/ztagent/open.rego", body: []byte("package ztagent\n\nopen_sesame := true\n")}))
		}, "ztagent/open.rego not included in bundle signature"},
		{"signature of another bundle", func() {
			sig := fileOf(t, signedClosed(), ".signatures.json")
			srv.serve(tamper(t, signedOpen(), func(name string, body []byte) []byte {
				if name == ".signatures.json" {
					return sig
				}
				return body
			}))
		}, "digest mismatch"},
		{"manifest revision of the wrong type", func() {
			srv.serve(signedRaw(t, key.signer(), map[string]string{
				"ztagent/policy.rego": allowIf,
				"data.json":           `{"open": true}`,
				".manifest":           `{"revision": 7}`,
			}))
		}, "bundle load failed on manifest decode"},
		{"manifest roots do not cover the data", func() {
			spec := openBundle(true, "evil")
			spec.manifest.Roots = &[]string{"ztagent"}
			srv.serve(spec.build(t, key.signer()))
		}, "do not permit data at path '/open'"},
		{"manifest roots overlap", func() {
			spec := openBundle(true, "evil")
			spec.manifest.Roots = &[]string{"", "ztagent"}
			srv.serve(spec.build(t, key.signer()))
		}, "manifest has overlapped roots"},
		{"manifest roots exclude the decision", func() {
			spec := bundleSpec{
				modules:  map[string]string{"other/policy.rego": "package other\n\nallow := true\n"},
				data:     map[string]any{"other": map[string]any{"open": true}},
				manifest: bundle.Manifest{Revision: "evil", Roots: &[]string{"other"}},
			}
			srv.serve(spec.build(t, key.signer()))
		}, "do not cover the query data.ztagent.decision"},
		{"delta bundle", func() {
			b := bundle.Bundle{
				Manifest: bundle.Manifest{Revision: "evil"},
				Patch:    bundle.Patch{Data: []bundle.PatchOperation{{Op: "upsert", Path: "/open", Value: true}}},
			}
			var buf bytes.Buffer
			require.NoError(t, bundle.NewWriter(&buf).Write(b))
			srv.serve(buf.Bytes())
		}, "delta bundles do not support signature verification"},
		{"signed but does not compile", func() {
			spec := openBundle(true, "evil")
			spec.modules["ztagent/broken.rego"] = "package ztagent\n\nbroken := no_such_function(1)\n"
			srv.serve(spec.build(t, key.signer()))
		}, "no_such_function"},
		{"not a tarball", func() { srv.serve([]byte("<html>maintenance</html>")) }, "gzip"},
		{"server error", func() { srv.fail(http.StatusInternalServerError) }, "Internal Server Error"},
		{"not found", func() { srv.fail(http.StatusNotFound) }, "Not Found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Barrier: the good bundle is served again and has been answered
			// with 304, so no download of the previous case is still on its
			// way and every failure from here on is this case's.
			n := srv.notModified.Load()
			srv.serve(good2)
			eventually(t, "good bundle revalidated", func() bool { return srv.notModified.Load() > n })
			before := eng.Stats().ReloadFailures

			tc.serve()
			eventually(t, "candidate rejected", func() bool {
				err := eng.LastReloadError()
				return eng.Stats().ReloadFailures > before && err != nil && strings.Contains(err.Error(), tc.wantErr)
			})
			msg := eng.LastReloadError().Error()
			require.True(t, strings.HasPrefix(msg, "authz: "), msg)
			require.Contains(t, msg, "bundle")

			// The last good bundle still decides: same revision, same verdict.
			require.Equal(t, rev2, eng.Revision())
			requireVerdict(t, eng, false, rev2)
			ev := evs.last()
			require.Error(t, ev.Err)
			require.True(t, strings.HasPrefix(ev.Source, "bundle:authz"), ev.Source)
			require.Equal(t, rev2, ev.Previous)
			require.Equal(t, rev2, ev.Revision)
		})
	}

	// After all that, a good bundle still gets in.
	srv.serve(openBundle(true, "r3").build(t, key.signer()))
	eventually(t, "third bundle activated", func() bool { return eng.Revision() != rev2 })
	requireVerdict(t, eng, true, eng.Revision())
	require.NoError(t, evs.last().Err)
}

func TestBundleNewFailsWithoutVerifiedBundle(t *testing.T) {
	key, other := newRSAKey(t, "RS256"), newRSAKey(t, "RS256")
	cases := []struct {
		name    string
		setup   func(*bundleServer, *authz.BundleConfig)
		wantErr string
	}{
		{"unsigned", func(s *bundleServer, _ *authz.BundleConfig) {
			s.serve(openBundle(true, "r1").build(t, nil))
		}, "bundle missing .signatures.json file"},
		{"signed with another key", func(s *bundleServer, _ *authz.BundleConfig) {
			s.serve(openBundle(true, "r1").build(t, other.signer()))
		}, "failed to verify JWT signature"},
		{"scope mismatch", func(s *bundleServer, c *authz.BundleConfig) {
			s.serve(openBundle(true, "r1").build(t, key.signer()))
			c.Scope = "production"
		}, "scope mismatch"},
		{"server error", func(s *bundleServer, _ *authz.BundleConfig) {
			s.fail(http.StatusInternalServerError)
		}, "Internal Server Error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newBundleServer(t)
			cfg := srv.config(key)
			tc.setup(srv, &cfg)
			var evs events
			const wait = 2 * time.Second
			start := time.Now()
			eng, err := authz.New(startCtx(t, wait), authz.WithBundle(cfg), authz.WithTimeout(testTimeout), authz.WithReloadHook(evs.add))
			require.Error(t, err)
			require.Nil(t, eng)
			require.Less(t, time.Since(start), wait+10*time.Second, "New must give up when its ctx ends")
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.ErrorContains(t, err, "no verified bundle activated")
			require.ErrorContains(t, err, tc.wantErr)
			require.Positive(t, evs.count(), "each rejected download is reported")
		})
	}
}

func TestBundleConfigErrors(t *testing.T) {
	rsaKey := newRSAKey(t, "RS256")
	ecKey := newECKey(t, "ES256", elliptic.P256())
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	weakPub, err := x509.MarshalPKIXPublicKey(&weak.PublicKey)
	require.NoError(t, err)
	good := authz.BundleConfig{URL: "http://127.0.0.1:1", Resource: bundleResource, PublicKey: rsaKey.public}
	cases := []struct {
		name    string
		edit    func(*authz.BundleConfig)
		extra   []authz.Option
		wantErr string
	}{
		{"empty URL", func(c *authz.BundleConfig) { c.URL = "" }, nil, "URL is empty"},
		{"ftp URL", func(c *authz.BundleConfig) { c.URL = "ftp://bundles.example.com" }, nil, "scheme must be http or https"},
		{"relative URL", func(c *authz.BundleConfig) { c.URL = "bundles.example.com" }, nil, "scheme must be http or https"},
		{"URL without host", func(c *authz.BundleConfig) { c.URL = "https://" }, nil, "has no host"},
		{"URL with credentials", func(c *authz.BundleConfig) { c.URL = "https://u:p@bundles.example.com" }, nil, "credentials"},
		{"empty resource", func(c *authz.BundleConfig) { c.Resource = "/" }, nil, "Resource is empty"},
		{"no public key", func(c *authz.BundleConfig) { c.PublicKey = "" }, nil, "PublicKey is required"},
		{"public key not PEM", func(c *authz.BundleConfig) { c.PublicKey = "not a key" }, nil, "not a PEM block"},
		{"public key corrupt", func(c *authz.BundleConfig) {
			c.PublicKey = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte("junk")}))
		}, nil, "PublicKey:"},
		{"private key given", func(c *authz.BundleConfig) { c.PublicKey = rsaKey.private }, nil, "holds a RSA PRIVATE KEY"},
		{"weak RSA key", func(c *authz.BundleConfig) {
			c.PublicKey = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: weakPub}))
		}, nil, "1024-bit"},
		{"HMAC algorithm", func(c *authz.BundleConfig) { c.Algorithm = "HS256" }, nil, "HMAC"},
		{"unknown algorithm", func(c *authz.BundleConfig) { c.Algorithm = "none" }, nil, "unsupported algorithm"},
		{"RSA key for ES256", func(c *authz.BundleConfig) { c.Algorithm = "ES256" }, nil, "needs an ECDSA P-256 key"},
		{"EC key for RS256", func(c *authz.BundleConfig) { c.PublicKey = ecKey.public }, nil, "needs an RSA key"},
		{"EC key on the wrong curve", func(c *authz.BundleConfig) { c.PublicKey, c.Algorithm = ecKey.public, "ES384" }, nil, "needs P-384"},
		{"negative delay", func(c *authz.BundleConfig) { c.MinDelay = -time.Second }, nil, "must be > 0"},
		{"max below min", func(c *authz.BundleConfig) { c.MinDelay, c.MaxDelay = time.Minute, time.Second }, nil, "shorter than MinDelay"},
		{"with a module", func(*authz.BundleConfig) {}, []authz.Option{authz.WithModule("p.rego", allowIf)}, "cannot be combined"},
		{"negative long poll", func(c *authz.BundleConfig) { c.LongPoll = -time.Second }, nil, "LongPoll must be whole seconds"},
		{"sub-second long poll", func(c *authz.BundleConfig) { c.LongPoll = 500 * time.Millisecond }, nil, "LongPoll must be whole seconds"},
		{"fractional long poll", func(c *authz.BundleConfig) { c.LongPoll = 1500 * time.Millisecond }, nil, "LongPoll must be whole seconds"},
		{"client timeout cuts long polls", func(c *authz.BundleConfig) {
			c.LongPoll, c.Client = 30*time.Second, &http.Client{Timeout: 10 * time.Second}
		}, nil, "would cut every long poll"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			opts := append([]authz.Option{authz.WithBundle(cfg)}, tc.extra...)
			eng, err := authz.New(startCtx(t, 10*time.Second), opts...)
			require.ErrorContains(t, err, tc.wantErr)
			require.Nil(t, eng)
			require.True(t, strings.HasPrefix(err.Error(), "authz: "), err.Error())
		})
	}
}

func TestBundleAlgorithms(t *testing.T) {
	cases := []struct {
		name string
		key  func(t *testing.T) signingKey
	}{
		{"RS256", func(t *testing.T) signingKey { return newRSAKey(t, "RS256") }},
		{"PS256", func(t *testing.T) signingKey { return newRSAKey(t, "PS256") }},
		{"ES256", func(t *testing.T) signingKey { return newECKey(t, "ES256", elliptic.P256()) }},
		{"ES384", func(t *testing.T) signingKey { return newECKey(t, "ES384", elliptic.P384()) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key(t)
			srv := newBundleServer(t)
			srv.serve(openBundle(true, "r1").build(t, key.signer()))
			eng, err := authz.New(startCtx(t, time.Minute), authz.WithBundle(srv.config(key)), authz.WithTimeout(testTimeout))
			require.NoError(t, err)
			defer eng.Close()
			requireVerdict(t, eng, true, eng.Revision())
		})
	}
}

// countingTransport proves the caller's client makes the requests.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestBundleClientAndClose(t *testing.T) {
	key := newRSAKey(t, "RS256")
	srv := newBundleServer(t)
	srv.serve(openBundle(true, "r1").build(t, key.signer()))
	tr := &countingTransport{}
	cfg := srv.config(key)
	cfg.Client = &http.Client{Transport: tr}
	eng, err := authz.New(startCtx(t, time.Minute), authz.WithBundle(cfg), authz.WithTimeout(testTimeout))
	require.NoError(t, err)
	require.Positive(t, tr.n.Load())

	// Polling goes on (304s) until Close, then stops for good.
	n := srv.hits.Load()
	eventually(t, "polling", func() bool { return srv.hits.Load() > n+2 })
	require.NoError(t, eng.Close())
	require.NoError(t, eng.Close(), "Close is idempotent")
	n = srv.hits.Load()
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, n, srv.hits.Load(), "no download after Close")

	// The last bundle keeps deciding after Close.
	requireVerdict(t, eng, true, eng.Revision())
}

// A server that says it long-polls but answers every poll at once is
// polled at the configured delays, not in a tight loop.
func TestBundleLongPollServerThatDoesNotHold(t *testing.T) {
	key := newRSAKey(t, "RS256")
	srv := newBundleServer(t)
	srv.contentType = "application/vnd.openpolicyagent.bundles"
	srv.serve(openBundle(true, "v1").build(t, key.signer()))
	cfg := srv.config(key)
	cfg.MinDelay, cfg.MaxDelay, cfg.LongPoll = 100*time.Millisecond, 100*time.Millisecond, 30*time.Second
	eng, err := authz.New(startCtx(t, 10*time.Second), authz.WithBundle(cfg))
	require.NoError(t, err)
	defer func() { require.NoError(t, eng.Close()) }()
	start := srv.hits.Load()
	time.Sleep(time.Second)
	polls := srv.hits.Load() - start
	require.Greater(t, polls, int64(2), "it keeps polling")
	require.Less(t, polls, int64(20), "at about its delay (100 ms), not at once")
}
