package identity

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/ztagent/ztagent/internal/loop"
)

// ErrNoSVID means the source holds no SVID it can trust: the agent has not
// sent one, or the trust bundle no longer verifies the one it had.
var ErrNoSVID = errors.New("identity: no trusted svid")

// WorkloadSource is the agent's identity from the SPIFFE Workload API, as
// served by a SPIRE agent. It implements [Source], and go-spiffe's
// x509svid.Source, x509bundle.Source and jwtsvid.Source.
//
// It keeps a stream open to the agent. Each update is checked before it is
// used: the SVID must be in the expected trust domain and its chain must
// verify against the bundle that came with it; an update that fails is
// counted and ignored. The current SVID is read from an atomic pointer: no
// lock and no RPC on the hot path. If the agent goes away the cached SVID
// keeps serving until its NotAfter, then [ErrExpired]; when the agent comes
// back the stream reconnects and calls recover without a restart.
//
// JWT-SVIDs are cached per audience and refreshed in the background at half
// their lifetime, unlike go-spiffe's JWTSource, which asks the agent on
// every call.
type WorkloadSource struct {
	client      *workloadapi.Client
	trustDomain spiffeid.TrustDomain // zero: any, verified against its bundle
	now         func() time.Time

	cur atomic.Pointer[workloadState]
	jwt jwtCache

	stats workloadCounters

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closed    atomic.Bool

	firstOnce sync.Once
	first     chan struct{}
	lastErr   atomic.Pointer[error]
}

// workloadState is one verified update. Never mutated after it is stored.
type workloadState struct {
	svid    *x509svid.SVID // nil when the bundle stopped trusting the last SVID
	bundles *x509bundle.Set
}

var (
	_ Source            = (*WorkloadSource)(nil)
	_ x509svid.Source   = (*WorkloadSource)(nil)
	_ x509bundle.Source = (*WorkloadSource)(nil)
	_ jwtsvid.Source    = (*WorkloadSource)(nil)
)

// FromWorkloadAPI connects to the Workload API and waits for the first
// verified SVID, for as long as ctx allows. When no agent answers in time,
// the error says so and carries the last connection error.
func FromWorkloadAPI(ctx context.Context, opts ...WorkloadOption) (*WorkloadSource, error) {
	cfg := defaultWorkloadConfig()
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("identity: option %d is nil", i)
		}
		o.applyWorkload(&cfg)
	}
	td, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	client, err := workloadapi.New(ctx,
		workloadapi.WithAddr(cfg.addr),
		workloadapi.WithBackoffStrategy(linearBackoff{max: cfg.retryMax}),
		workloadapi.WithLogger(quietLogger{}),
	)
	if err != nil {
		return nil, fmt.Errorf("identity: Workload API client for %s: %w", cfg.addr, err)
	}
	s := newWorkloadSource(client, td, cfg.now)
	s.jwt.fetch = client.FetchJWTSVID
	wctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go s.watch(wctx, client, cfg.timers)
	go s.jwt.refreshLoop(wctx, &s.wg, cfg.timers, cfg.jwtRefresh, cfg.now, &s.stats.jwtRefreshFailures)

	select {
	case <-s.first:
		return s, nil
	case <-ctx.Done():
		last := "no answer"
		if e := s.lastErr.Load(); e != nil {
			last = (*e).Error()
		}
		_ = s.Close()
		return nil, fmt.Errorf("identity: no SVID from the Workload API at %s: %w (last error: %s)", cfg.addr, ctx.Err(), last)
	}
}

func newWorkloadSource(client *workloadapi.Client, td spiffeid.TrustDomain, now func() time.Time) *WorkloadSource {
	return &WorkloadSource{client: client, trustDomain: td, now: now, first: make(chan struct{}), jwt: jwtCache{trustDomain: td, entries: map[jwtKey]*jwtEntry{}}}
}

// watchRetryDelay is how long watch waits before opening the stream again
// after go-spiffe gave up on it.
const watchRetryDelay = time.Second

// watch keeps the X.509 stream open until Close. go-spiffe's watch retries
// with backoff by itself but gives up on some errors; this loop does not.
func (s *WorkloadSource) watch(ctx context.Context, client *workloadapi.Client, timers loop.Timers) {
	defer s.wg.Done()
	loop.Loop{Timers: timers}.Run(ctx, 0, func(ctx context.Context) time.Duration {
		err := client.WatchX509Context(ctx, s) // blocks while the stream is open
		if ctx.Err() != nil {
			return loop.Stop
		}
		s.OnX509ContextWatchError(err)
		return watchRetryDelay
	})
}

// GetX509SVID returns the current SVID. It never returns an expired one.
func (s *WorkloadSource) GetX509SVID() (*x509svid.SVID, error) {
	if s == nil || s.closed.Load() {
		return nil, ErrClosed
	}
	st := s.cur.Load()
	if st == nil || st.svid == nil {
		return nil, ErrNoSVID
	}
	if !s.now().Before(st.svid.Certificates[0].NotAfter) {
		return nil, ErrExpired
	}
	return st.svid, nil
}

// GetX509BundleForTrustDomain returns the bundle the agent last sent for td.
// A trust domain dropped from the agent's bundle set is no longer trusted.
func (s *WorkloadSource) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	if s == nil || s.closed.Load() {
		return nil, ErrClosed
	}
	st := s.cur.Load()
	if st == nil || st.bundles == nil {
		return nil, fmt.Errorf("identity: no bundle for trust domain %q", td)
	}
	return st.bundles.GetX509BundleForTrustDomain(td)
}

// FetchJWTSVID returns a JWT-SVID for p.Audience, from the cache while it is
// valid; the first request for an audience asks the agent.
func (s *WorkloadSource) FetchJWTSVID(ctx context.Context, p jwtsvid.Params) (*jwtsvid.SVID, error) {
	if s == nil || s.closed.Load() {
		return nil, ErrClosed
	}
	return s.jwt.get(ctx, p, s.now, &s.stats.jwtFetches)
}

// Close stops the stream and the refresher. Idempotent.
func (s *WorkloadSource) Close() error {
	if s == nil {
		return nil
	}
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		if s.client != nil {
			err = s.client.Close()
		}
	})
	return err
}
