package toolguard

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/internal/fakeclock"
)

// refusingIssuer fails every revocation and notes when, by the test's
// clock, each was attempted. Nothing else of the issuer is used.
type refusingIssuer struct {
	creds.Issuer
	now func() time.Time

	mu sync.Mutex
	at []time.Time
}

func (r *refusingIssuer) Revoke(context.Context, string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.at = append(r.at, r.now())
	return errors.New("revocation endpoint down")
}

func (r *refusingIssuer) attempts() []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.at...)
}

var revokeT0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// newTestRevoker is a revoker on a fake clock whose issuer refuses every
// revocation. No goroutine runs: the test sweeps with retryDue itself.
func newTestRevoker() (*revoker, *refusingIssuer, *counters, *fakeclock.Clock) {
	clock := fakeclock.New(revokeT0)
	iss := &refusingIssuer{now: clock.Now}
	st := &counters{}
	return newRevoker(iss, time.Second, st, clock.Now), iss, st, clock
}

// A revocation that keeps failing is retried on the guard's clock with a
// growing backoff, never before a retry is due; after maxRevokeAttempts it
// is counted lost once and never tried again.
func TestRevokerBacksOffThenCountsTheRevocationLostOnce(t *testing.T) {
	ctx := context.Background()
	r, iss, st, clock := newTestRevoker()
	require.Error(t, r.revoke(ctx, &creds.Credential{ID: "c-1", IssuedAt: revokeT0, ExpiresAt: revokeT0.Add(time.Hour)}))
	require.EqualValues(t, 1, st.revokeFailures.Load())
	require.Equal(t, 1, r.pendingCount())

	// The wait after each failed attempt before the next one.
	backoff := []time.Duration{time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second}
	require.Len(t, backoff, maxRevokeAttempts-1, "one wait between every two attempts")
	want := []time.Time{revokeT0}
	for i, wait := range backoff {
		due := clock.Now().Add(wait)
		clock.Set(due.Add(-time.Nanosecond))
		r.retryDue(ctx, clock.Now(), false)
		require.Equal(t, want, iss.attempts(), "retry %d was made before it was due", i+1)

		clock.Set(due)
		r.retryDue(ctx, clock.Now(), false)
		want = append(want, due)
		require.Equal(t, want, iss.attempts(), "retry %d was not made when due", i+1)
		require.EqualValues(t, i+1, st.revokeRetries.Load())
	}
	require.EqualValues(t, 1, st.revokeLost.Load())
	require.Zero(t, r.pendingCount(), "a lost revocation is not pending any more")

	// Given up is given up: later sweeps, the final one too, try nothing.
	clock.Advance(10 * time.Minute)
	r.retryDue(ctx, clock.Now(), false)
	r.retryDue(ctx, clock.Now(), true)
	require.Len(t, iss.attempts(), maxRevokeAttempts)
	require.EqualValues(t, 1, st.revokeLost.Load())
	require.EqualValues(t, maxRevokeAttempts-1, st.revokeRetries.Load())
	require.Zero(t, st.revokeExpired.Load())
}

// A pending revocation whose credential expires is counted expired, not
// lost: there is no token left to abuse. One still live when the guard
// closes gets a last attempt and, failing, is lost.
func TestRevokerCountsExpiredNotLost(t *testing.T) {
	type sweep struct {
		at    time.Duration // after the first attempt
		final bool          // Guard.Close's sweep
	}
	cases := []struct {
		name         string
		expires      time.Duration // the credential's, after the first attempt
		sweeps       []sweep
		wantAttempts int
		wantExpired  uint64
		wantLost     uint64
	}{
		{name: "expires before its first retry", expires: 500 * time.Millisecond,
			sweeps: []sweep{{at: time.Second}}, wantAttempts: 1, wantExpired: 1},
		{name: "expires between retries", expires: 3 * time.Second,
			sweeps: []sweep{{at: time.Second}, {at: 5 * time.Second}}, wantAttempts: 2, wantExpired: 1},
		{name: "expires the moment a retry is due", expires: 5 * time.Second,
			sweeps: []sweep{{at: time.Second}, {at: 5 * time.Second}}, wantAttempts: 2, wantExpired: 1},
		{name: "expired when the guard closes", expires: 3 * time.Second,
			sweeps: []sweep{{at: 3 * time.Second, final: true}}, wantAttempts: 1, wantExpired: 1},
		{name: "live when the guard closes", expires: time.Hour,
			sweeps: []sweep{{at: 2 * time.Second, final: true}}, wantAttempts: 2, wantLost: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			r, iss, st, clock := newTestRevoker()
			require.Error(t, r.revoke(ctx, &creds.Credential{ID: "c-1", IssuedAt: revokeT0, ExpiresAt: revokeT0.Add(tc.expires)}))
			for _, s := range tc.sweeps {
				clock.Set(revokeT0.Add(s.at))
				r.retryDue(ctx, clock.Now(), s.final)
			}
			require.Len(t, iss.attempts(), tc.wantAttempts)
			require.Equal(t, tc.wantExpired, st.revokeExpired.Load(), "expired")
			require.Equal(t, tc.wantLost, st.revokeLost.Load(), "lost")
			require.EqualValues(t, tc.wantAttempts-1, st.revokeRetries.Load(), "retries")
			require.Zero(t, r.pendingCount())
		})
	}
}

// A revocation whose first attempt failed is counted recovered when a retry
// succeeds, and only then: not when it is lost or expires, and not when the
// first attempt succeeds. Each one ends exactly one way.
func TestRevokerCountsRecoveredRevocations(t *testing.T) {
	cases := []struct {
		name          string
		fail          int  // attempts that fail before one succeeds
		expires       bool // the credential dies before the first retry
		wantRecovered uint64
		wantLost      uint64
		wantExpired   uint64
	}{
		{name: "first attempt succeeds", fail: 0},
		{name: "first retry succeeds", fail: 1, wantRecovered: 1},
		{name: "last retry succeeds", fail: maxRevokeAttempts - 1, wantRecovered: 1},
		{name: "never succeeds", fail: maxRevokeAttempts, wantLost: 1},
		{name: "expires first", fail: 1, expires: true, wantExpired: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			clock := fakeclock.New(revokeT0)
			iss := &flakyRevokes{now: clock.Now, fail: tc.fail, attempted: make(chan time.Time, maxRevokeAttempts)}
			st := &counters{}
			r := newRevoker(iss, time.Second, st, clock.Now)
			life := time.Hour
			if tc.expires {
				life = time.Second / 2
			}
			_ = r.revoke(ctx, &creds.Credential{ID: "c-1", IssuedAt: revokeT0, ExpiresAt: revokeT0.Add(life)})
			for range maxRevokeAttempts {
				clock.Advance(time.Minute) // past every backoff step
				r.retryDue(ctx, clock.Now(), false)
			}
			require.Equal(t, tc.wantRecovered, st.revokeRecovered.Load(), "recovered")
			require.Equal(t, tc.wantLost, st.revokeLost.Load(), "lost")
			require.Equal(t, tc.wantExpired, st.revokeExpired.Load(), "expired")
			require.Zero(t, r.pendingCount())
			require.Equal(t, st.revokeFailures.Load(), st.revokeRecovered.Load()+st.revokeLost.Load()+st.revokeExpired.Load(),
				"every failed revocation ends one way")
		})
	}
}

// flakyRevokes fails the first fail revocations and notes, by the test's
// clock, when each was attempted.
type flakyRevokes struct {
	creds.Issuer
	now       func() time.Time
	fail      int
	attempted chan time.Time
}

func (f *flakyRevokes) Revoke(context.Context, string) error {
	f.attempted <- f.now()
	if f.fail > 0 { // only the revoker's goroutine, or the caller before it, revokes
		f.fail--
		return errors.New("revocation endpoint down")
	}
	return nil
}

// The revoker's loop sweeps on the guard's timers and retries what is due
// by the guard's clock. (When a retry is due is retryDue's, tested above.)
func TestRevokerLoopRetriesWhenDue(t *testing.T) {
	clock := fakeclock.New(revokeT0)
	iss := &flakyRevokes{now: clock.Now, fail: 1, attempted: make(chan time.Time, maxRevokeAttempts)}
	st := &counters{}
	r := newRevoker(iss, time.Second, st, clock.Now)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go r.run(ctx, &wg, clock)
	clock.WaitArmed(1)

	require.Error(t, r.revoke(ctx, &creds.Credential{ID: "c-1", IssuedAt: revokeT0, ExpiresAt: revokeT0.Add(time.Hour)}))
	require.Equal(t, revokeT0, <-iss.attempted)
	clock.Advance(revokeBackoff.Delay(0))
	require.Equal(t, revokeT0.Add(revokeBackoff.Delay(0)), <-iss.attempted)

	cancel()
	wg.Wait()
	require.Zero(t, clock.Tickers(), "the loop stopped its ticker")
	require.Zero(t, r.pendingCount())
	require.EqualValues(t, 1, st.revokeRetries.Load())
	require.EqualValues(t, 1, st.revokeRecovered.Load())
	require.Empty(t, iss.attempted)
}
