package creds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

const (
	defaultRevocationPoll     = 5 * time.Second
	defaultRevocationMaxStale = 30 * time.Second
	// maxRevocationEntries bounds the set a remote list can make us hold.
	maxRevocationEntries = 100_000
)

// revocationListJSON is the wire form of RevocationListHandler: every revoked
// jti whose token some verifier could still accept, with its exp (Unix
// seconds) so a consumer may forget it afterwards.
type revocationListJSON struct {
	Issuer  string                `json:"iss"`
	Time    int64                 `json:"iat"`
	Revoked []revocationEntryJSON `json:"revoked"`
}

type revocationEntryJSON struct {
	ID  string `json:"jti"`
	Exp int64  `json:"exp"`
}

// RevocationListHandler serves the ids of the minter's revoked tokens that
// are not yet past expiry plus the largest leeway, as JSON
// {"iss", "iat", "revoked": [{"jti", "exp"}]}, for RemoteRevocations. Token
// ids are not secrets, so the list is public like the JWKS.
func (m *Minter) RevocationListHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		now := m.now()
		list := m.ledger.revokedList(now)
		out := revocationListJSON{Issuer: m.issuer, Time: now.Unix(), Revoked: make([]revocationEntryJSON, len(list))}
		for i, e := range list {
			out.Revoked[i] = revocationEntryJSON{ID: e.ID, Exp: e.Exp.Unix()}
		}
		w.Header().Set("Content-Type", "application/json")
		// A cached list would hide a revocation from the next poll.
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(out)
	})
}

// RemoteRevocationList is a RevocationChecker backed by a revocation list
// polled from a Minter's RevocationListHandler in another process.
//
// A revocation reaches it at the next poll (WithRefreshInterval, default
// 5s), or at once through Refresh. It fails closed: when no list could be
// fetched for longer than WithMaxStaleness (default 30s), Revoked returns
// an error and the Verifier refuses every token.
//
// An id it has seen stays revoked until the token's exp plus the largest
// leeway by its own clock, even after the minter stops listing it: the
// minter drops an id by the minter's clock, and a verifier whose clock lags
// would otherwise accept the token again for the difference.
type RemoteRevocationList struct {
	url      string
	client   *http.Client
	now      func() time.Time
	maxStale time.Duration

	mu      sync.RWMutex
	revoked map[string]time.Time // id → when it may be forgotten (exp + maxLeeway, by now)
	fetched time.Time            // clock time of the last successful fetch

	fetching fetchLock // one fetch at a time
	failures atomic.Uint64

	stop context.CancelFunc
	done chan struct{}
}

var _ RevocationChecker = (*RemoteRevocationList)(nil)

// RemoteRevocations fetches the revocation list at url before it returns (a
// list that cannot be loaded is an error) and then polls it in the
// background until Close. url must be https, or http to a loopback address.
func RemoteRevocations(ctx context.Context, url string, opts ...RemoteOption) (*RemoteRevocationList, error) {
	cfg, err := newRemoteConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("creds: remote revocations: %w", err)
	}
	if cfg.revocations != nil || cfg.verifierOpts != nil {
		return nil, errors.New("creds: remote revocations: WithRevocationChecker and WithVerifierOptions apply to NewRemoteVerifier only")
	}
	if err := checkEndpoint("revocation list URL", url); err != nil {
		return nil, fmt.Errorf("creds: remote revocations: %w", err)
	}
	if cfg.refresh == 0 {
		cfg.refresh = defaultRevocationPoll
	}
	if cfg.maxStale == 0 {
		cfg.maxStale = defaultRevocationMaxStale
	}
	if cfg.maxStale < cfg.refresh {
		return nil, fmt.Errorf("creds: remote revocations: max staleness %s is shorter than the poll interval %s", cfg.maxStale, cfg.refresh)
	}
	loopCtx, stop := context.WithCancel(context.Background())
	l := &RemoteRevocationList{
		url: url, client: cfg.client, now: cfg.now, maxStale: cfg.maxStale,
		fetching: newFetchLock(), stop: stop, done: make(chan struct{}),
	}
	if err := l.Refresh(ctx); err != nil {
		stop()
		return nil, err
	}
	// Failures are counted in Refresh; Revoked fails closed once stale.
	go pollEvery(loopCtx, l.done, cfg.timers, cfg.refresh, l.Refresh)
	return l, nil
}

// Revoked reports whether id is on the last fetched list. It fails closed
// when that list is older than the staleness bound, or after Close.
func (l *RemoteRevocationList) Revoked(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("creds: revocation check: %w", err)
	}
	if id == "" {
		return false, errors.New("creds: revocation check: empty id")
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.revoked == nil {
		return false, errors.New("creds: revocation check: revocation list closed")
	}
	if age := l.now().Sub(l.fetched); age > l.maxStale {
		return false, fmt.Errorf("creds: revocation check: revocation list is %s old (bound %s; %d failed fetches)",
			age.Truncate(time.Second), l.maxStale, l.failures.Load())
	}
	_, ok := l.revoked[id]
	return ok, nil
}

// Refresh fetches the list now, e.g. right after a revocation an operator
// must see take effect. A failure keeps the previous list (until it is
// stale) and is counted in Failures.
func (l *RemoteRevocationList) Refresh(ctx context.Context) error {
	if err := l.fetching.lock(ctx); err != nil { // gave up waiting: no fetch failed
		return fmt.Errorf("creds: remote revocations: %w", err)
	}
	defer l.fetching.unlock()
	list, err := l.fetch(ctx)
	if err != nil {
		l.failures.Add(1)
		return fmt.Errorf("creds: remote revocations: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.revoked == nil && !l.fetched.IsZero() { // closed
		return nil
	}
	now := l.now()
	l.revoked, l.fetched = merged(l.revoked, list, now), now
	return nil
}

// merged is the ids of list, and those of held not yet forgettable at now,
// each with the time it may be forgotten: its exp plus maxLeeway. Past
// maxRevocationEntries, the held ids the list no longer names go first,
// those forgettable soonest first: what the minter lists now always counts
// (fetch refuses a list longer than the bound).
func merged(held map[string]time.Time, list []revocationEntryJSON, now time.Time) map[string]time.Time {
	set := make(map[string]time.Time, len(list))
	for _, e := range list {
		at := time.Unix(e.Exp, 0).Add(maxLeeway)
		if prev, ok := set[e.ID]; !ok || at.After(prev) {
			set[e.ID] = at
		}
	}
	type heldID struct {
		id string
		at time.Time
	}
	var extra []heldID
	for id, at := range held {
		if _, listed := set[id]; !listed && now.Before(at) {
			extra = append(extra, heldID{id, at})
		}
	}
	if room := maxRevocationEntries - len(set); len(extra) > room {
		slices.SortFunc(extra, func(a, b heldID) int { return b.at.Compare(a.at) }) // latest first
		extra = extra[:room]
	}
	for _, h := range extra {
		set[h.id] = h.at
	}
	return set
}

// Failures counts fetches that failed since the list was created.
func (l *RemoteRevocationList) Failures() uint64 { return l.failures.Load() }

func (l *RemoteRevocationList) fetch(ctx context.Context) ([]revocationEntryJSON, error) {
	body, err := fetchRemote(ctx, l.client, l.url, "revocation list")
	if err != nil {
		return nil, err
	}
	var list revocationListJSON
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("revocation list: bad JSON: %w", err)
	}
	if list.Revoked == nil {
		return nil, errors.New(`revocation list: no "revoked" member`)
	}
	if len(list.Revoked) > maxRevocationEntries {
		return nil, fmt.Errorf("revocation list: %d entries, more than %d", len(list.Revoked), maxRevocationEntries)
	}
	return list.Revoked, nil
}

// Close stops polling; afterwards Revoked fails closed. Idempotent.
func (l *RemoteRevocationList) Close() error {
	l.stop()
	<-l.done
	l.mu.Lock()
	l.revoked = nil
	l.mu.Unlock()
	return nil
}
