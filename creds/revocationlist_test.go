package creds

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRevocationListHandler(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	srv := minterServer(t, m, nil)
	get := func() revocationListJSON {
		resp, err := srv.Client().Get(srv.URL + "/revoked")
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		var l revocationListJSON
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&l))
		return l
	}
	require.Empty(t, get().Revoked)
	require.NotNil(t, get().Revoked, "an empty list is [], not null")

	short, err := m.Issue(ctx, Request{Subject: "s", Audience: "https://a", TTL: 10 * time.Second})
	require.NoError(t, err)
	long, err := m.Issue(ctx, Request{Subject: "s", Audience: "https://a", TTL: time.Minute})
	require.NoError(t, err)
	_, err = m.Issue(ctx, Request{Subject: "s", Audience: "https://a"}) // not revoked: not listed
	require.NoError(t, err)
	require.NoError(t, m.Revoke(ctx, long.ID))
	require.NoError(t, m.Revoke(ctx, short.ID))
	l := get()
	require.Equal(t, defaultIssuer, l.Issuer)
	require.Equal(t, []revocationEntryJSON{
		{ID: short.ID, Exp: short.ExpiresAt.Unix()},
		{ID: long.ID, Exp: long.ExpiresAt.Unix()},
	}, l.Revoked)

	// Listed until no verifier could accept the token (exp + max leeway).
	clk.Advance(10*time.Second + maxLeeway)
	require.Equal(t, []revocationEntryJSON{{ID: long.ID, Exp: long.ExpiresAt.Unix()}}, get().Revoked)
}

func TestRemoteRevocations(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		m.RevocationListHandler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	l, err := RemoteRevocations(ctx, srv.URL, WithHTTPClient(srv.Client()), WithClock(clk.Now),
		WithRefreshInterval(10*time.Millisecond), WithMaxStaleness(20*time.Second))
	require.NoError(t, err)
	defer func() { require.NoError(t, l.Close()); require.NoError(t, l.Close()) }()

	c, err := m.Issue(ctx, testRequest())
	require.NoError(t, err)
	v, err := NewVerifier(m.PublicKey(), defaultIssuer, l, WithClock(clk.Now))
	require.NoError(t, err)
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.NoError(t, err)

	// The poll picks the revocation up in the background.
	require.NoError(t, m.Revoke(ctx, c.ID))
	require.Eventually(t, func() bool {
		revoked, err := l.Revoked(ctx, c.ID)
		return err == nil && revoked
	}, 5*time.Second, 10*time.Millisecond)
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.ErrorIs(t, err, ErrRevoked)

	// The list cannot be refreshed: answers stand until the staleness bound,
	// then every check fails closed.
	down.Store(true)
	require.Error(t, l.Refresh(ctx))
	clk.Advance(19 * time.Second)
	c2, err := m.Issue(ctx, testRequest())
	require.NoError(t, err)
	_, err = v.Verify(ctx, c2.Token(), c2.Audience)
	require.NoError(t, err)
	clk.Advance(2 * time.Second)
	_, err = v.Verify(ctx, c2.Token(), c2.Audience)
	require.ErrorContains(t, err, "revocation list is 21s old")
	require.NotErrorIs(t, err, ErrRevoked)
	require.Positive(t, l.Failures())

	// Back up: fresh again.
	down.Store(false)
	require.NoError(t, l.Refresh(ctx))
	_, err = v.Verify(ctx, c2.Token(), c2.Audience)
	require.NoError(t, err)
}

// Both remote components fetch once before they return, then once every
// refresh interval of their timers, never before; Close ends the poll.
func TestRemotePollsEveryRefreshInterval(t *testing.T) {
	const every = 5 * time.Second
	m := newTestMinter(t, newFakeClock())
	for _, path := range []string{"/jwks", "/revoked"} {
		t.Run(path, func(t *testing.T) {
			clk := newFakeClock()
			fetched := make(chan struct{}, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				fetched <- struct{}{}
				if path == "/jwks" {
					m.JWKSHandler().ServeHTTP(w, r)
				} else {
					m.RevocationListHandler().ServeHTTP(w, r)
				}
			}))
			defer srv.Close()
			opts := []RemoteOption{WithHTTPClient(srv.Client()), WithRefreshInterval(every), withTimers(clk)}
			var closer func() error
			if path == "/jwks" {
				v, err := NewRemoteVerifier(context.Background(), srv.URL, defaultIssuer, append(opts, WithRevocationChecker(NoRevocationCheck()))...)
				require.NoError(t, err)
				closer = v.Close
			} else {
				l, err := RemoteRevocations(context.Background(), srv.URL, opts...)
				require.NoError(t, err)
				closer = l.Close
			}
			<-fetched // the first load
			clk.WaitArmed(1)
			for i := range 3 {
				clk.Advance(every - time.Nanosecond)
				require.Equal(t, i, clk.Ticks(), "no poll before the interval")
				clk.Advance(time.Nanosecond)
				<-fetched
			}
			require.NoError(t, closer())
			require.Zero(t, clk.Tickers(), "Close stopped the poll")
		})
	}
}

func TestRemoteRevocationsConfig(t *testing.T) {
	ctx := context.Background()
	m := newTestMinter(t, newFakeClock())
	srv := minterServer(t, m, nil)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"iss":"x"}`))
	}))
	defer bad.Close()
	tests := []struct {
		name string
		url  string
		opts []RemoteOption
		want string
	}{
		{"404", srv.URL + "/nope", nil, "HTTP status 404"},
		{"no list", bad.URL, nil, `no "revoked" member`},
		{"https only", "http://revocations.example.com/", nil, "want https"},
		{"stale bound below poll", srv.URL + "/revoked", []RemoteOption{WithRefreshInterval(time.Minute), WithMaxStaleness(time.Second)}, "shorter than the poll"},
		{"verifier option", srv.URL + "/revoked", []RemoteOption{WithRevocationChecker(m)}, "NewRemoteVerifier only"},
		{"nil option", srv.URL + "/revoked", []RemoteOption{nil}, "option 1 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := RemoteRevocations(ctx, tt.url, append([]RemoteOption{WithHTTPClient(srv.Client())}, tt.opts...)...)
			require.ErrorContains(t, err, tt.want)
			require.ErrorContains(t, err, "creds: remote revocations")
			require.Nil(t, l)
		})
	}
}

func TestRemoteRevocationsClosedFailsClosed(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	srv := minterServer(t, m, nil)
	l, err := RemoteRevocations(context.Background(), srv.URL+"/revoked", WithHTTPClient(srv.Client()))
	require.NoError(t, err)
	require.NoError(t, l.Close())
	_, err = l.Revoked(context.Background(), "x")
	require.ErrorContains(t, err, "closed")
}

// A Refresh queued behind another fetch (a slow poll) gives up when its own
// context ends, and that is no failed fetch.
func TestRemoteRevocationsRefreshWaitsWithItsContext(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	srv := httptest.NewServer(m.RevocationListHandler())
	defer srv.Close()
	l, err := RemoteRevocations(context.Background(), srv.URL, WithHTTPClient(srv.Client()), WithRefreshInterval(20*time.Second))
	require.NoError(t, err)
	defer func() { require.NoError(t, l.Close()) }()

	require.NoError(t, l.fetching.lock(context.Background())) // a fetch in progress
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, l.Refresh(ctx), context.DeadlineExceeded)
	require.Zero(t, l.Failures())
	l.fetching.unlock()
	require.NoError(t, l.Refresh(context.Background()))
}

// The minter stops listing a revoked id at its exp plus the largest leeway
// by the minter's clock. A verifier whose clock lags still accepts the
// token then (by its clock it is within the leeway), so the list keeps the
// id until exp plus the leeway by its own clock.
func TestRemoteRevocationsOutliveTheMinterListUnderSkew(t *testing.T) {
	ctx := context.Background()
	mclk := newFakeClock()
	m := newTestMinter(t, mclk)
	srv := minterServer(t, m, nil)
	vnow := func() time.Time { return mclk.Now().Add(-10 * time.Second) } // the verifier's clock lags
	l, err := RemoteRevocations(ctx, srv.URL+"/revoked", WithHTTPClient(srv.Client()), WithClock(vnow),
		WithRefreshInterval(time.Hour), WithMaxStaleness(2*time.Hour))
	require.NoError(t, err)
	defer l.Close()
	v, err := NewVerifier(m.PublicKey(), m.Issuer(), l, WithLeeway(maxLeeway), WithClock(vnow))
	require.NoError(t, err)

	c, err := m.Issue(ctx, testRequest())
	require.NoError(t, err)
	require.NoError(t, m.Revoke(ctx, c.ID))
	require.NoError(t, l.Refresh(ctx))
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.ErrorIs(t, err, ErrRevoked)

	mclk.Advance(c.TTL() + maxLeeway + time.Second) // the minter: past exp+leeway; the verifier: 9s before
	require.NoError(t, l.Refresh(ctx))
	require.NotContains(t, listedIDs(t, srv), c.ID, "the minter no longer lists it")
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.ErrorIs(t, err, ErrRevoked, "a revoked token must not be accepted again")

	mclk.Advance(10 * time.Second) // the verifier's clock passes exp+leeway too: the token is dead anyway
	require.NoError(t, l.Refresh(ctx))
	revoked, err := l.Revoked(ctx, c.ID)
	require.NoError(t, err)
	require.False(t, revoked, "forgotten once no verifier can accept the token")
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.ErrorIs(t, err, ErrExpired)
}

func listedIDs(t *testing.T, srv *httptest.Server) []string {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + "/revoked")
	require.NoError(t, err)
	defer resp.Body.Close()
	var list revocationListJSON
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&list))
	ids := make([]string, 0, len(list.Revoked))
	for _, e := range list.Revoked {
		ids = append(ids, e.ID)
	}
	return ids
}

// Ids held from earlier lists give way, soonest forgettable first, when
// they would pass the bound; what the minter lists now always counts.
func TestRemoteRevocationsMergedBound(t *testing.T) {
	now := time.Unix(1000, 0)
	held := map[string]time.Time{"old": now.Add(time.Minute), "gone": now.Add(-time.Second)}
	set := merged(held, []revocationEntryJSON{{ID: "new", Exp: now.Unix()}}, now)
	require.Equal(t, map[string]time.Time{"old": now.Add(time.Minute), "new": now.Add(maxLeeway)}, set)

	full := make(map[string]time.Time, maxRevocationEntries)
	for i := range maxRevocationEntries {
		full[strconv.Itoa(i)] = now.Add(time.Hour + time.Duration(i)*time.Second)
	}
	set = merged(full, []revocationEntryJSON{{ID: "listed", Exp: now.Unix()}}, now)
	require.Len(t, set, maxRevocationEntries)
	require.Contains(t, set, "listed")
	require.NotContains(t, set, "0", "the held id forgettable soonest gave way")
	require.Contains(t, set, strconv.Itoa(maxRevocationEntries-1))
}
