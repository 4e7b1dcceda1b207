package identity

import (
	"context"
	"crypto/x509"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"github.com/stretchr/testify/require"
)

// These tests feed the update handler the faults a real SPIRE agent does
// not produce on demand: a foreign trust domain, a chain from another CA, a
// bundle that drops a trust domain. The end-to-end behaviour against a real
// agent is in workload_spire_test.go.

type testCA struct {
	td   spiffeid.TrustDomain
	auth *authority
}

func newTestCA(t *testing.T, td string, now time.Time) *testCA {
	t.Helper()
	d := spiffeid.RequireTrustDomainFromString(td)
	a, err := newAuthority(d, now, 4*time.Hour)
	require.NoError(t, err)
	return &testCA{td: d, auth: a}
}

func (c *testCA) svid(t *testing.T, path string, now time.Time, ttl time.Duration) *x509svid.SVID {
	t.Helper()
	s, err := mintX509SVID(c.auth, spiffeid.RequireFromPath(c.td, path), now, ttl)
	require.NoError(t, err)
	return s
}

func (c *testCA) bundle() *x509bundle.Bundle {
	return x509bundle.FromX509Authorities(c.td, []*x509.Certificate{c.auth.caCert})
}

func ctxOf(svid *x509svid.SVID, bundles ...*x509bundle.Bundle) *workloadapi.X509Context {
	x := &workloadapi.X509Context{Bundles: x509bundle.NewSet(bundles...)}
	if svid != nil {
		x.SVIDs = []*x509svid.SVID{svid}
	}
	return x
}

func newTestWorkloadSource(t *testing.T, td string, clock *fakeClock) *WorkloadSource {
	t.Helper()
	var d spiffeid.TrustDomain
	if td != "" {
		d = spiffeid.RequireTrustDomainFromString(td)
	}
	return newWorkloadSource(nil, d, clock.Now)
}

func TestWorkloadUpdateChecks(t *testing.T) {
	clock := newFakeClock()
	now := clock.Now()
	ours := newTestCA(t, "example.org", now)
	other := newTestCA(t, "other.org", now)
	impostor := newTestCA(t, "example.org", now) // same name, different key

	good := ours.svid(t, "/agent/a", now, time.Minute)
	cases := []struct {
		name    string
		td      string
		update  *workloadapi.X509Context
		wantErr error
	}{
		{name: "verified", td: "example.org", update: ctxOf(good, ours.bundle())},
		{name: "any trust domain when none is pinned", update: ctxOf(other.svid(t, "/agent/a", now, time.Minute), other.bundle())},
		{name: "foreign trust domain", td: "example.org", update: ctxOf(other.svid(t, "/agent/a", now, time.Minute), other.bundle(), ours.bundle()), wantErr: ErrNoSVID},
		{name: "chain from another CA", td: "example.org", update: ctxOf(impostor.svid(t, "/agent/a", now, time.Minute), ours.bundle()), wantErr: ErrNoSVID},
		{name: "no bundle for its trust domain", update: ctxOf(good, other.bundle()), wantErr: ErrNoSVID},
		{name: "already expired", update: ctxOf(ours.svid(t, "/agent/a", now.Add(-2*time.Minute), time.Minute), ours.bundle()), wantErr: ErrNoSVID},
		{name: "no SVID", update: ctxOf(nil, ours.bundle()), wantErr: ErrNoSVID},
		{name: "nil update", update: nil, wantErr: ErrNoSVID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestWorkloadSource(t, tc.td, clock)
			s.OnX509ContextUpdate(tc.update)
			got, err := s.GetX509SVID()
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Nil(t, got, "nothing is cached from a rejected update")
				require.EqualValues(t, 1, s.Stats().Rejected)
				require.Error(t, s.LastError())
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.update.SVIDs[0], got)
			require.EqualValues(t, 1, s.Stats().Updates)
		})
	}
}

func TestWorkloadRotationExpiryAndRecovery(t *testing.T) {
	clock := newFakeClock()
	ca := newTestCA(t, "example.org", clock.Now())
	s := newTestWorkloadSource(t, "example.org", clock)

	first := ca.svid(t, "/agent/a", clock.Now(), time.Minute)
	s.OnX509ContextUpdate(ctxOf(first, ca.bundle()))
	got, err := s.GetX509SVID()
	require.NoError(t, err)
	require.Equal(t, first, got)

	// A rotated SVID is used by the next call.
	clock.Advance(30 * time.Second)
	second := ca.svid(t, "/agent/a", clock.Now(), time.Minute)
	s.OnX509ContextUpdate(ctxOf(second, ca.bundle()))
	got, err = s.GetX509SVID()
	require.NoError(t, err)
	require.Equal(t, second.Certificates[0].SerialNumber, got.Certificates[0].SerialNumber)

	// The agent goes away: the cached SVID serves until NotAfter, then never.
	s.OnX509ContextWatchError(errors.New("connection refused"))
	clock.Advance(59 * time.Second)
	_, err = s.GetX509SVID()
	require.NoError(t, err)
	clock.Advance(2 * time.Second)
	got, err = s.GetX509SVID()
	require.ErrorIs(t, err, ErrExpired)
	require.Nil(t, got)
	require.EqualValues(t, 1, s.Stats().WatchErrors)

	// The agent comes back with a fresh SVID: calls recover.
	third := ca.svid(t, "/agent/a", clock.Now(), time.Minute)
	s.OnX509ContextUpdate(ctxOf(third, ca.bundle()))
	got, err = s.GetX509SVID()
	require.NoError(t, err)
	require.Equal(t, third, got)
}

func TestWorkloadBundleDropStopsTrust(t *testing.T) {
	clock := newFakeClock()
	ours := newTestCA(t, "example.org", clock.Now())
	fed := newTestCA(t, "partner.org", clock.Now())
	s := newTestWorkloadSource(t, "example.org", clock)
	svid := ours.svid(t, "/agent/a", clock.Now(), time.Minute)

	s.OnX509ContextUpdate(ctxOf(svid, ours.bundle(), fed.bundle()))
	_, err := s.GetX509BundleForTrustDomain(fed.td)
	require.NoError(t, err)

	// The agent stops federating with partner.org.
	s.OnX509ContextUpdate(ctxOf(svid, ours.bundle()))
	_, err = s.GetX509BundleForTrustDomain(fed.td)
	require.Error(t, err)
	_, err = s.GetX509SVID()
	require.NoError(t, err)

	// A bundle that no longer holds our own CA stops trusting our SVID too,
	// even though the update carried no new SVID.
	s.OnX509ContextUpdate(ctxOf(nil, fed.bundle()))
	_, err = s.GetX509SVID()
	require.ErrorIs(t, err, ErrNoSVID)
}

func TestWorkloadRejectedUpdateKeepsVerifiedSVID(t *testing.T) {
	clock := newFakeClock()
	ca := newTestCA(t, "example.org", clock.Now())
	impostor := newTestCA(t, "example.org", clock.Now())
	s := newTestWorkloadSource(t, "example.org", clock)
	good := ca.svid(t, "/agent/a", clock.Now(), time.Minute)
	s.OnX509ContextUpdate(ctxOf(good, ca.bundle()))
	s.OnX509ContextUpdate(ctxOf(impostor.svid(t, "/agent/a", clock.Now(), time.Minute), ca.bundle()))
	got, err := s.GetX509SVID()
	require.NoError(t, err)
	require.Equal(t, good, got)
	require.EqualValues(t, 1, s.Stats().Rejected)
}

func TestFromWorkloadAPIBadInput(t *testing.T) {
	ctx := context.Background()
	cases := map[string][]WorkloadOption{
		"no address":         {WithAddr("")},
		"malformed address":  {WithAddr("unix://%zz")},
		"wrong scheme":       {WithAddr("http://127.0.0.1:1")},
		"relative unix path": {WithAddr("unix:agent.sock")},
		"bad trust domain":   {WithAddr("unix:///tmp/x.sock"), WithTrustDomain("spiffe://example.org")},
		"nil clock":          {WithAddr("unix:///tmp/x.sock"), WithClock(nil)},
		"zero retry":         {WithAddr("unix:///tmp/x.sock"), WithRetryMax(0)},
		"nil option":         {nil},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := FromWorkloadAPI(ctx, opts...)
			require.Error(t, err)
			require.Nil(t, s)
		})
	}
}

func TestFromWorkloadAPINoAgentAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	s, err := FromWorkloadAPI(ctx, WithAddr("unix://"+t.TempDir()+"/nobody.sock"))
	require.Nil(t, s)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "no SVID from the Workload API")
	require.ErrorContains(t, err, "nobody.sock")
}

func TestWorkloadJWTCache(t *testing.T) {
	clock := newFakeClock()
	s := newTestWorkloadSource(t, "", clock)
	var calls int
	s.jwt.fetch = func(_ context.Context, p jwtsvid.Params) (*jwtsvid.SVID, error) {
		calls++
		if p.Audience == "down" {
			return nil, errors.New("agent unavailable")
		}
		iat := clock.Now()
		return &jwtsvid.SVID{Audience: []string{p.Audience}, Expiry: iat.Add(5 * time.Minute),
			Claims: map[string]any{"iat": float64(iat.Unix())}}, nil
	}
	ctx := context.Background()
	a1, err := s.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "https://a.example"})
	require.NoError(t, err)
	a2, err := s.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "https://a.example"})
	require.NoError(t, err)
	require.Same(t, a1, a2, "a fresh token is served from the cache")
	require.Equal(t, 1, calls)
	_, err = s.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "https://b.example"})
	require.NoError(t, err)
	require.Equal(t, 2, calls)
	_, err = s.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "down"})
	require.Error(t, err)
	_, err = s.FetchJWTSVID(ctx, jwtsvid.Params{})
	require.Error(t, err)

	// Past half-life the background refresh renews it; the hot path does not fetch.
	clock.Advance(3 * time.Minute)
	var failures atomic.Uint64
	s.jwt.refresh(ctx, clock.Now(), &failures)
	a3, err := s.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "https://a.example"})
	require.NoError(t, err)
	require.NotSame(t, a1, a3)
	require.Equal(t, 5, calls) // 3 above (one failed) + 2 refreshes
	require.Zero(t, failures.Load())

	// Unused for two lifetimes: forgotten.
	clock.Advance(11 * time.Minute)
	s.jwt.refresh(ctx, clock.Now(), &failures)
	s.jwt.mu.RLock()
	defer s.jwt.mu.RUnlock()
	require.Empty(t, s.jwt.entries)
}

// The background loop, on the source's timers, renews what is past half its
// lifetime by the source's clock; it ends with its context.
func TestWorkloadJWTRefreshLoop(t *testing.T) {
	clock := newFakeClock()
	fetched := make(chan string, 1)
	c := &jwtCache{entries: map[jwtKey]*jwtEntry{}, fetch: func(_ context.Context, p jwtsvid.Params) (*jwtsvid.SVID, error) {
		fetched <- p.Audience
		iat := clock.Now()
		return &jwtsvid.SVID{Audience: []string{p.Audience}, Expiry: iat.Add(4 * time.Second),
			Claims: map[string]any{"iat": float64(iat.Unix())}}, nil
	}}
	var fetches, failures atomic.Uint64
	_, err := c.get(context.Background(), jwtsvid.Params{Audience: "https://a.example"}, clock.Now, &fetches)
	require.NoError(t, err)
	<-fetched

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go c.refreshLoop(ctx, &wg, clock, time.Second, clock.Now, &failures)
	clock.WaitArmed(1)
	clock.Advance(3 * time.Second) // past half its life: the tick renews it
	require.Equal(t, "https://a.example", <-fetched)
	cancel()
	wg.Wait()
	require.Zero(t, clock.Tickers(), "the loop stopped its ticker")
	require.Zero(t, failures.Load())
}

// A JWT-SVID is held to WithTrustDomain as an X.509-SVID is: one for another
// trust domain, or one already expired, is refused and never cached, on the
// hot path and by the background refresh.
func TestWorkloadJWTChecks(t *testing.T) {
	clock := newFakeClock()
	s := newTestWorkloadSource(t, "example.org", clock)
	id := spiffeid.RequireFromString("spiffe://example.org/agent")
	s.jwt.fetch = func(_ context.Context, p jwtsvid.Params) (*jwtsvid.SVID, error) {
		iat := clock.Now()
		sv := &jwtsvid.SVID{ID: id, Audience: []string{p.Audience}, Expiry: iat.Add(5 * time.Minute),
			Claims: map[string]any{"iat": float64(iat.Unix())}}
		switch p.Audience {
		case "foreign":
			sv.ID = spiffeid.RequireFromString("spiffe://evil.org/agent")
		case "expired":
			sv.Expiry = iat
		}
		return sv, nil
	}
	ctx := context.Background()
	_, err := s.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "foreign"})
	require.ErrorContains(t, err, `not in trust domain "example.org"`)
	_, err = s.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "expired"})
	require.ErrorIs(t, err, ErrExpired)
	sv, err := s.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "https://a.example"})
	require.NoError(t, err)
	require.Equal(t, id, sv.ID)
	s.jwt.mu.RLock()
	require.Len(t, s.jwt.entries, 1, "only the good one is cached")
	s.jwt.mu.RUnlock()

	// The agent starts answering for another trust domain: the refresh
	// keeps nothing of it.
	s.jwt.fetch = func(_ context.Context, p jwtsvid.Params) (*jwtsvid.SVID, error) {
		return &jwtsvid.SVID{ID: spiffeid.RequireFromString("spiffe://evil.org/agent"), Audience: []string{p.Audience},
			Expiry: clock.Now().Add(5 * time.Minute)}, nil
	}
	clock.Advance(3 * time.Minute)
	var failures atomic.Uint64
	s.jwt.refresh(ctx, clock.Now(), &failures)
	require.EqualValues(t, 1, failures.Load())
	again, err := s.FetchJWTSVID(ctx, jwtsvid.Params{Audience: "https://a.example"})
	require.NoError(t, err)
	require.Same(t, sv, again, "the good token stays until it expires")
}
