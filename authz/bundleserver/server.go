package bundleserver

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"
)

// DefaultMaxWait caps how long a poll is held, whatever the client asks.
const DefaultMaxWait = 60 * time.Second

// ContentType is what the server sends with a bundle: OPA's sign that it
// holds polls.
const ContentType = "application/vnd.openpolicyagent.bundles"

// Server serves the last bundle published to it, on every GET (and HEAD)
// of the paths it is mounted at. It is safe for concurrent use; the zero
// Server is not usable, build one with New.
type Server struct {
	maxWait time.Duration

	mu      sync.Mutex
	cur     *published    // nil until the first Publish
	changed chan struct{} // closed and replaced by every Publish and by Close
	closed  bool
	waiting int // polls held now
}

type published struct {
	raw  []byte
	etag string // quoted, as sent
}

// New builds a Server with nothing published: it answers 404 until the
// first Publish.
func New(opts ...Option) (*Server, error) {
	c := config{maxWait: DefaultMaxWait}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("bundleserver: nil Option")
		}
		o.apply(&c)
	}
	if c.maxWait <= 0 {
		return nil, fmt.Errorf("bundleserver: WithMaxWait must be positive, got %s", c.maxWait)
	}
	return &Server{maxWait: c.maxWait, changed: make(chan struct{})}, nil
}

// Publish makes raw the bundle served, and answers every held poll with
// it. raw must be a signed snapshot bundle (a .tar.gz with
// .signatures.json) that OPA can read; anything else is an error and
// changes nothing. The signature is not checked here: engines check it
// against their own key. The ETag is a digest of raw, so publishing the
// same bytes again changes nothing either.
func (s *Server) Publish(raw []byte) (etag string, err error) {
	if err := check(raw); err != nil {
		return "", fmt.Errorf("bundleserver: publish: %w", err)
	}
	sum := sha256.Sum256(raw)
	etag = `"` + hex.EncodeToString(sum[:16]) + `"`
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil && s.cur.etag == etag {
		return etag, nil
	}
	s.cur = &published{raw: bytes.Clone(raw), etag: etag}
	close(s.changed)
	s.changed = make(chan struct{})
	return etag, nil
}

// check refuses what every engine would refuse: not a bundle, not a
// snapshot, not signed.
func check(raw []byte) error {
	b, err := bundle.NewReader(bytes.NewReader(raw)).
		WithSkipBundleVerification(true).
		WithSizeLimitBytes(bundle.DefaultSizeLimitBytes).
		Read()
	switch {
	case err != nil:
		return fmt.Errorf("not a bundle OPA can read: %w", err)
	case b.Type() != bundle.SnapshotBundleType:
		return fmt.Errorf("a %s bundle; serve a snapshot bundle", b.Type())
	}
	signed, err := signed(raw)
	if err != nil {
		return fmt.Errorf("not a bundle OPA can read: %w", err)
	}
	if !signed {
		return errors.New("the bundle is not signed (no signature in .signatures.json): engines refuse unsigned bundles; sign it with Sign or opa build --signing-key")
	}
	return nil
}

// signed says whether raw holds a .signatures.json with a signature in
// it. OPA's reader drops the file when it does not verify, so it is looked
// for here.
func signed(raw []byte) (bool, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return false, err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if !bundle.IsSignaturesFile(h.Name) {
			continue
		}
		var sigs bundle.SignaturesConfig
		// Already read once by OPA's reader within its size limit.
		if err := json.NewDecoder(tr).Decode(&sigs); err != nil {
			return false, fmt.Errorf("%s: %w", h.Name, err)
		}
		return len(sigs.Signatures) > 0, nil
	}
}

// Waiting is the number of polls held now: once every engine of a fleet
// is waiting, a Publish reaches them all in one round trip.
func (s *Server) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting
}

// Close answers every held poll now (304 Not Modified) and holds no more;
// the bundle is still served. Call it before shutting the HTTP server
// down, which would otherwise wait for every held poll to time out.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.changed)
	}
}

// ServeHTTP serves the bundle: 200 with the bundle and its ETag when the
// client's If-None-Match does not name it; otherwise 304, after holding
// the request for the wait the client prefers (at most the server's
// maximum) or until a new bundle is published, whichever is first.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	cur, changed := s.await(r.Context(), r.Header.Values("If-None-Match"), preferredWait(r.Header.Values("Prefer"), s.maxWait))
	switch {
	case cur == nil:
		http.Error(w, "no bundle published", http.StatusNotFound)
	case !changed:
		w.Header().Set("ETag", cur.etag)
		w.WriteHeader(http.StatusNotModified)
	default:
		h := w.Header()
		h.Set("ETag", cur.etag)
		h.Set("Content-Type", ContentType)
		h.Set("Content-Length", strconv.Itoa(len(cur.raw)))
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(cur.raw) // a client gone mid-body polls again
		}
	}
}

// await returns the bundle to answer with and whether it is one the
// client does not have. It holds a client that has the current bundle
// for up to wait, until a Publish, Close or the client leaving.
func (s *Server) await(ctx context.Context, ifNoneMatch []string, wait time.Duration) (*published, bool) {
	s.mu.Lock()
	cur, changed, closed := s.cur, s.changed, s.closed
	if cur == nil || !matches(ifNoneMatch, cur.etag) {
		s.mu.Unlock()
		return cur, cur != nil
	}
	if wait <= 0 || closed {
		s.mu.Unlock()
		return cur, false
	}
	s.waiting++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.waiting--
		s.mu.Unlock()
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-changed:
	case <-t.C:
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur, s.cur.etag != cur.etag
}
