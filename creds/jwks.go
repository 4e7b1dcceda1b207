package creds

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/ztagent/ztagent/internal/loop"
)

const (
	// maxRemoteBody bounds what a JWKS or revocation list may make us read.
	maxRemoteBody = 1 << 20
	// maxJWKSKeys bounds the key map; an issuer rotates through a handful.
	maxJWKSKeys = 64
	// jwksMinRefetch limits on-demand refetches for unknown kids, so tokens
	// with made-up kids cannot turn the verifier into a JWKS flooder.
	jwksMinRefetch      = 30 * time.Second
	defaultJWKSRefresh  = 5 * time.Minute
	defaultFetchTimeout = 10 * time.Second
)

// JWKSHandler serves the minter's public key as an RFC 7517 JWK Set (one OKP
// Ed25519 key, with kid, alg EdDSA and use sig), for NewRemoteVerifier.
func (m *Minter) JWKSHandler() http.Handler {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: m.PublicKey(), KeyID: m.keyID, Algorithm: string(jose.EdDSA), Use: "sig",
	}}}
	body, err := json.Marshal(set)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if err != nil { // an Ed25519 key always marshals; fail loudly if not
			http.Error(w, "jwks unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(body)
	})
}

// NewRemoteVerifier returns a Verifier for tokens issued by issuer whose keys
// are published as a JWK Set at jwksURL (for example a Minter's JWKSHandler
// in another process). It runs exactly the checks of NewVerifier.
//
// The JWK Set is loaded before NewRemoteVerifier returns: one that fails to
// load (an HTTP error, bad JSON) or holds no Ed25519 signing key is an error.
// It is then refreshed in the background every WithRefreshInterval (default
// 5m) and, at most every 30s, when a token names a kid not in the set (key
// rotation). A failed refresh keeps the keys already known. Close stops the
// refresh.
//
// A revocation checker is required, as for NewVerifier: pass
// WithRevocationChecker(RemoteRevocations(...)) or, by name,
// NoRevocationCheck(). jwksURL must be https, or http to a loopback address.
func NewRemoteVerifier(ctx context.Context, jwksURL, issuer string, opts ...RemoteOption) (*Verifier, error) {
	cfg, err := newRemoteConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("creds: remote verifier: %w", err)
	}
	if err := checkEndpoint("jwks URL", jwksURL); err != nil {
		return nil, fmt.Errorf("creds: remote verifier: %w", err)
	}
	if cfg.revocations == nil {
		return nil, errors.New("creds: remote verifier: no revocation checker (pass WithRevocationChecker; NoRevocationCheck to opt out)")
	}
	if cfg.refresh == 0 {
		cfg.refresh = defaultJWKSRefresh
	}
	rk := &remoteKeys{url: jwksURL, client: cfg.client, now: cfg.now, fetching: newFetchLock(), done: make(chan struct{})}
	// Every option is checked before anything is fetched: a mistake in
	// them should not cost a request to the issuer. The verifier keeps the
	// time of WithClock, unless WithVerifierOptions says otherwise.
	vopts := append([]VerifierOption{WithClock(cfg.now)}, cfg.verifierOpts...)
	v, err := newVerifier(rk, issuer, cfg.revocations, vopts)
	if err != nil {
		return nil, err
	}
	loopCtx, stop := context.WithCancel(context.Background())
	rk.stop = stop
	if err := rk.refresh(ctx); err != nil {
		stop()
		return nil, fmt.Errorf("creds: remote verifier: %w", err)
	}
	// A failed refresh keeps the keys already known.
	go pollEvery(loopCtx, rk.done, cfg.timers, cfg.refresh, rk.refresh)
	return v, nil
}

// remoteKeys is a JWK Set fetched over HTTP and kept fresh.
type remoteKeys struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu   sync.RWMutex
	keys map[string]ed25519.PublicKey

	fetching  fetchLock // one fetch at a time
	lastFetch time.Time // guarded by fetching; read on now, only for rate limiting

	stop context.CancelFunc // ends loop, and any fetch it is making
	done chan struct{}
}

func (rk *remoteKeys) verificationKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	if k, ok := rk.lookup(kid); ok {
		return k, nil
	}
	if kid != "" {
		// The key may be new (rotation). Whether or not a fetch happens
		// or succeeds, the lookup below decides.
		rk.refetch(ctx)
		if k, ok := rk.lookup(kid); ok {
			return k, nil
		}
	}
	return nil, fmt.Errorf("creds: verify: key id %q not in the issuer's JWK Set: %w", kid, ErrSignature)
}

// lookup finds kid; a token without kid is accepted only when the set has a
// single key, so the choice is never ambiguous.
func (rk *remoteKeys) lookup(kid string) (ed25519.PublicKey, bool) {
	rk.mu.RLock()
	defer rk.mu.RUnlock()
	if kid == "" && len(rk.keys) == 1 {
		for _, k := range rk.keys {
			return k, true
		}
	}
	k, ok := rk.keys[kid]
	return k, ok
}

// refetch fetches the set again for a token naming a kid it lacks, unless
// it was fetched in the last jwksMinRefetch. The check and the fetch hold
// the fetch lock together, so a burst of tokens naming a new kid costs one
// fetch: the others wait for it (no longer than their ctx allows), then
// find the key, or the rate limit spent. A failed fetch keeps the old set.
func (rk *remoteKeys) refetch(ctx context.Context) {
	if rk.fetching.lock(ctx) != nil {
		return
	}
	defer rk.fetching.unlock()
	if rk.now().Sub(rk.lastFetch) < jwksMinRefetch {
		return
	}
	_ = rk.fetchLocked(ctx)
}

// refresh fetches the set now: the first load and the background poll.
func (rk *remoteKeys) refresh(ctx context.Context) error {
	if err := rk.fetching.lock(ctx); err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	defer rk.fetching.unlock()
	return rk.fetchLocked(ctx)
}

// fetchLock is held (full) while a remote fetch runs, so there is one at a
// time. A channel, not a mutex: a caller waiting for another's fetch (a
// Verify, a Refresh behind a slow poll) gives up when its own context ends.
type fetchLock chan struct{}

func newFetchLock() fetchLock { return make(fetchLock, 1) }

func (l fetchLock) lock(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l fetchLock) unlock() { <-l }

// fetchLocked replaces the set with a freshly fetched one; the caller holds
// the fetch lock. The attempt counts for the rate limit even if it fails,
// so an issuer that is down is not asked again at every token.
func (rk *remoteKeys) fetchLocked(ctx context.Context) error {
	rk.lastFetch = rk.now()
	keys, err := fetchJWKS(ctx, rk.client, rk.url)
	if err != nil {
		return err
	}
	rk.mu.Lock()
	rk.keys = keys
	rk.mu.Unlock()
	return nil
}

// pollEvery calls refresh every interval, each call bounded by the fetch
// timeout, until ctx ends; it closes done on return. The remote JWKS and the
// remote revocation list both poll this way.
func pollEvery(ctx context.Context, done chan struct{}, timers loop.Timers, every time.Duration, refresh func(context.Context) error) {
	defer close(done)
	loop.Loop{Timers: timers}.Every(ctx, every, func(ctx context.Context) {
		fctx, cancel := context.WithTimeout(ctx, defaultFetchTimeout)
		defer cancel()
		_ = refresh(fctx)
	})
}

func (rk *remoteKeys) close() {
	rk.stop()
	<-rk.done
}

// fetchJWKS loads a JWK Set and keeps its Ed25519 public signing keys.
// Keys of other types are skipped (a set may serve several algorithms); a
// set with none left is an error, since every token would then be refused.
func fetchJWKS(ctx context.Context, client *http.Client, u string) (map[string]ed25519.PublicKey, error) {
	body, err := fetchRemote(ctx, client, u, "jwks")
	if err != nil {
		return nil, err
	}
	var raw struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("jwks: not a JWK Set: %w", err)
	}
	if raw.Keys == nil {
		return nil, errors.New(`jwks: no "keys" member`)
	}
	if len(raw.Keys) > maxJWKSKeys {
		return nil, fmt.Errorf("jwks: %d keys, more than %d", len(raw.Keys), maxJWKSKeys)
	}
	keys := make(map[string]ed25519.PublicKey)
	for _, r := range raw.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(r); err != nil {
			continue // an unsupported key type; not ours to judge
		}
		pub, ok := k.Key.(ed25519.PublicKey)
		if !ok || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != string(jose.EdDSA)) {
			continue
		}
		if _, dup := keys[k.KeyID]; dup {
			return nil, fmt.Errorf("jwks: key id %q appears twice", k.KeyID)
		}
		keys[k.KeyID] = pub
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("jwks: %d keys, none an Ed25519 (OKP, EdDSA) signing key", len(raw.Keys))
	}
	return keys, nil
}

// fetchRemote GETs u and returns a bounded body; anything but 200 is an error.
func fetchRemote(ctx context.Context, client *http.Client, u, what string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		// The cause, not the *url.Error, which quotes the URL (of a
		// redirect too), query included, in every error this returns.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		if strings.HasPrefix(err.Error(), "failed to parse Location header") {
			err = errors.New("a redirect's Location header is not a URL") // net/http quotes it
		}
		return nil, fmt.Errorf("%s: fetch: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxRemoteBody))
		return nil, fmt.Errorf("%s: fetch: HTTP status %d", what, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRemoteBody+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", what, err)
	}
	if len(body) > maxRemoteBody {
		return nil, fmt.Errorf("%s: body exceeds %d bytes", what, maxRemoteBody)
	}
	return body, nil
}

// checkEndpoint is the one rule for every URL this package talks to (JWKS,
// revocation list, token and revocation endpoints): keys and revocations
// fetched in clear text could be swapped on the way, and client secrets sent
// in clear text read. So: an absolute URL, https, or http only to a loopback
// address. Userinfo would put a credential where URLs get logged, and a
// fragment is never sent, so a URL with either is not the one that is used
// (OAuth endpoints must not have one: RFC 6749 section 3.1). what names the
// URL in errors, which never quote it: it may carry a password.
func checkEndpoint(what, raw string) error {
	if raw == "" {
		return fmt.Errorf("%s is required", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The cause, not the *url.Error, which quotes the whole URL.
		return fmt.Errorf("%s is not a valid URL: %w", what, errors.Unwrap(err))
	}
	switch {
	case u.Host == "":
		return fmt.Errorf("%s is not an absolute URL (no host)", what)
	case u.User != nil:
		return fmt.Errorf("%s must be a URL without userinfo (user info in a URL ends up in logs)", what)
	case u.Fragment != "":
		return fmt.Errorf("%s must not have a fragment (it is never sent)", what)
	case !secureTransport(u):
		return fmt.Errorf("%s must be https, or http only to a loopback address: want https, not %s to %q", what, u.Scheme, u.Hostname())
	}
	return nil
}

// maxRedirects is how many redirects the default fetch client follows, as
// many as net/http's default policy.
const maxRedirects = 10

// checkRedirect is the default fetch client's redirect policy: every hop
// must pass checkEndpoint as the configured URL did, so a redirect (a
// misconfigured proxy, say) cannot move a fetch of keys or revocations to
// clear text, where they could be swapped.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return checkEndpoint("redirect target", req.URL.String())
}

// secureTransport: https, or http to a loopback address (a test server, a
// local sidecar), where nothing on the way can read or change the traffic.
func secureTransport(u *url.URL) bool {
	return u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RemoteOption configures NewRemoteVerifier and RemoteRevocations. Sealed.
type RemoteOption interface{ applyRemote(*remoteConfig) }

type remoteConfig struct {
	client       *http.Client
	refresh      time.Duration
	maxStale     time.Duration
	now          func() time.Time
	revocations  RevocationChecker
	verifierOpts []VerifierOption
	timers       loop.Timers // what the poll waits on; nil: real time (tests set a fake)
}

func newRemoteConfig(opts []RemoteOption) (remoteConfig, error) {
	cfg := remoteConfig{client: &http.Client{Timeout: defaultFetchTimeout, CheckRedirect: checkRedirect}, now: time.Now}
	for i, o := range opts {
		if o == nil {
			return cfg, fmt.Errorf("option %d is nil", i)
		}
		o.applyRemote(&cfg)
	}
	switch {
	case cfg.client == nil:
		return cfg, errors.New("nil HTTP client")
	case cfg.now == nil:
		return cfg, errors.New("clock must not be nil")
	case cfg.refresh < 0:
		return cfg, fmt.Errorf("refresh interval %s is negative", cfg.refresh)
	case cfg.maxStale < 0:
		return cfg, fmt.Errorf("max staleness %s is negative", cfg.maxStale)
	}
	return cfg, nil
}

// WithHTTPClient sets the client used to fetch (default: http.Client with a
// 10s timeout that follows a redirect only to a URL the configured one
// could have been: https, or http to a loopback address). Its redirect
// policy applies instead.
func WithHTTPClient(c *http.Client) RemoteOption {
	return remoteOptionFunc(func(cfg *remoteConfig) { cfg.client = c })
}

// WithRefreshInterval sets how often the JWK Set (default 5m) or the
// revocation list (default 5s) is fetched again.
func WithRefreshInterval(d time.Duration) RemoteOption {
	return remoteOptionFunc(func(cfg *remoteConfig) { cfg.refresh = d })
}

// WithMaxStaleness (RemoteRevocations only) is how old the last successfully
// fetched revocation list may be before Revoked fails closed. Default 30s,
// never less than the refresh interval.
func WithMaxStaleness(d time.Duration) RemoteOption {
	return remoteOptionFunc(func(cfg *remoteConfig) { cfg.maxStale = d })
}

// WithRemoteClock is WithClock.
//
// Deprecated: use WithClock, the clock option of every component.
func WithRemoteClock(now func() time.Time) RemoteOption { return WithClock(now) }

// WithRevocationChecker (NewRemoteVerifier only, required) is where the
// verifier asks whether a token was revoked.
func WithRevocationChecker(rc RevocationChecker) RemoteOption {
	return remoteOptionFunc(func(cfg *remoteConfig) { cfg.revocations = rc })
}

// WithVerifierOptions (NewRemoteVerifier only) passes leeway and replay
// options to the verifier. Its clock is WithClock's, given to
// NewRemoteVerifier.
func WithVerifierOptions(opts ...VerifierOption) RemoteOption {
	return remoteOptionFunc(func(cfg *remoteConfig) { cfg.verifierOpts = append(cfg.verifierOpts, opts...) })
}
