package identity

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// OnX509ContextUpdate takes an update from the agent. The bundle set always
// replaces the old one: a trust domain the agent dropped is dropped here. The
// SVID replaces the old one only if it passes every check; if it fails, the
// old SVID is kept only while the new bundle still verifies it.
// It is called by the Workload API stream; it is exported only to satisfy
// go-spiffe's X509ContextWatcher.
func (s *WorkloadSource) OnX509ContextUpdate(x *workloadapi.X509Context) {
	if x == nil || x.Bundles == nil {
		s.reject(errors.New("update without a bundle"))
		return
	}
	next := &workloadState{bundles: x.Bundles}
	var err error
	if len(x.SVIDs) == 0 {
		err = errors.New("update without an SVID")
	} else {
		err = s.check(x.SVIDs[0], x)
	}
	switch {
	case err == nil:
		next.svid = x.SVIDs[0]
		s.stats.updates.Add(1)
	default:
		s.reject(err)
		if old := s.cur.Load(); old != nil && old.svid != nil && s.check(old.svid, x) == nil {
			next.svid = old.svid
		}
	}
	s.cur.Store(next)
	if next.svid != nil {
		s.firstOnce.Do(func() { close(s.first) })
	}
}

// check verifies svid against the bundles of x, the expected trust domain and
// the clock.
func (s *WorkloadSource) check(svid *x509svid.SVID, x *workloadapi.X509Context) error {
	if svid == nil || len(svid.Certificates) == 0 || svid.PrivateKey == nil {
		return errors.New("incomplete SVID")
	}
	if err := inTrustDomain(s.trustDomain, svid.ID); err != nil {
		return err
	}
	if _, _, err := x509svid.Verify(svid.Certificates, x.Bundles, x509svid.WithTime(s.now())); err != nil {
		return fmt.Errorf("SVID %s does not verify against the trust bundle: %w", svid.ID, err)
	}
	if !s.now().Before(svid.Certificates[0].NotAfter) {
		return fmt.Errorf("SVID %s is expired", svid.ID)
	}
	return nil
}

func (s *WorkloadSource) reject(err error) {
	s.stats.rejected.Add(1)
	s.setLastErr(fmt.Errorf("rejected update: %w", err))
}

// OnX509ContextWatchError records a stream failure (the agent is down or
// refused this workload). The cached SVID keeps serving until it expires.
func (s *WorkloadSource) OnX509ContextWatchError(err error) {
	if err == nil {
		return
	}
	s.stats.watchErrors.Add(1)
	s.setLastErr(err)
}

func (s *WorkloadSource) setLastErr(err error) { s.lastErr.Store(&err) }

// WorkloadStats counts what the source did not, or could not, use. Nothing is
// dropped silently.
type WorkloadStats struct {
	Updates            uint64 // verified updates applied
	Rejected           uint64 // updates refused (wrong trust domain, bad chain, expired…)
	WatchErrors        uint64 // stream failures; the cached SVID keeps serving until NotAfter
	JWTFetches         uint64 // JWT-SVIDs fetched from the agent
	JWTRefreshFailures uint64 // background refreshes that failed; the cached token serves until expiry
}

type workloadCounters struct {
	updates, rejected, watchErrors, jwtFetches, jwtRefreshFailures atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (s *WorkloadSource) Stats() WorkloadStats {
	return WorkloadStats{
		Updates:            s.stats.updates.Load(),
		Rejected:           s.stats.rejected.Load(),
		WatchErrors:        s.stats.watchErrors.Load(),
		JWTFetches:         s.stats.jwtFetches.Load(),
		JWTRefreshFailures: s.stats.jwtRefreshFailures.Load(),
	}
}

// LastError is the last stream failure or rejected update, for diagnostics.
func (s *WorkloadSource) LastError() error {
	if e := s.lastErr.Load(); e != nil {
		return *e
	}
	return nil
}

// linearBackoff retries after 1s, 2s, … up to max: go-spiffe's default goes
// to 30s, which would keep calls denied long after the agent came back.
type linearBackoff struct{ max time.Duration }

func (b linearBackoff) NewBackoff() workloadapi.Backoff { return &linearStep{max: b.max} }

type linearStep struct {
	max time.Duration
	n   int
}

func (b *linearStep) Next() time.Duration {
	b.n++
	return min(time.Duration(b.n)*time.Second, b.max)
}

func (b *linearStep) Reset() { b.n = 0 }

// quietLogger drops go-spiffe's log lines: failures are counted in Stats and
// kept in LastError, and a library must not write to the process's logs.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}

// inTrustDomain is the trust-domain check of every SVID a WorkloadSource
// takes, X.509 or JWT: td, when set (WithTrustDomain), must be id's.
func inTrustDomain(td spiffeid.TrustDomain, id spiffeid.ID) error {
	if !td.IsZero() && id.TrustDomain() != td {
		return fmt.Errorf("SVID %s is not in trust domain %q", id, td)
	}
	return nil
}
