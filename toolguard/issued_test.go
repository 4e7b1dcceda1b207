package toolguard_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/toolguard"
)

// skewedIssuer issues through a minter and then reports the credential's
// lifetime as edit sets it: an issuer whose clock or TTL handling is off.
type skewedIssuer struct {
	creds.Issuer
	now  func() time.Time
	edit func(c *creds.Credential, now time.Time)

	mu      sync.Mutex
	issued  []string
	revoked []string
}

func (s *skewedIssuer) Issue(ctx context.Context, r creds.Request) (*creds.Credential, error) {
	c, err := s.Issuer.Issue(ctx, r)
	if err != nil {
		return nil, err
	}
	s.edit(c, s.now())
	s.mu.Lock()
	s.issued = append(s.issued, c.ID)
	s.mu.Unlock()
	return c, nil
}

func (s *skewedIssuer) Revoke(ctx context.Context, id string) error {
	s.mu.Lock()
	s.revoked = append(s.revoked, id)
	s.mu.Unlock()
	return s.Issuer.Revoke(ctx, id)
}

func (s *skewedIssuer) ids() (issued, revoked []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...), append([]string(nil), s.revoked...)
}

// A credential the issuer returns already expired by the guard's clock, or
// living longer than the guard's maximum, must not exist: the call is denied
// with credential_unavailable, the tool does not run, and the credential is
// revoked at once. The same holds for a credential a task's calls would
// share.
func TestIssuedCredentialOutsideTheGuardsBoundsIsRefusedAndRevoked(t *testing.T) {
	const maxTTL = time.Minute
	lives := func(from, until time.Duration) func(*creds.Credential, time.Time) {
		return func(c *creds.Credential, now time.Time) {
			c.IssuedAt, c.ExpiresAt = now.Add(from), now.Add(until)
		}
	}
	cases := []struct {
		name    string
		edit    func(*creds.Credential, time.Time)
		allowed bool
	}{
		{name: "lives the maximum", edit: lives(0, maxTTL), allowed: true},
		{name: "expires now", edit: lives(-10*time.Second, 0)},
		{name: "expired a second ago", edit: lives(-11*time.Second, -time.Second)},
		{name: "issued expired", edit: lives(0, 0)},
		{name: "lives past the maximum", edit: lives(0, maxTTL+time.Minute)},
		{name: "lives past the maximum's second of slack", edit: lives(0, maxTTL+time.Second+time.Nanosecond)},
		// Its own TTL is the maximum, but by the guard's clock it lives an
		// hour past it.
		{name: "issued in the future", edit: lives(time.Hour, time.Hour+maxTTL)},
	}
	modes := []struct {
		name string
		dec  authz.Decider
		task bool
	}{
		{name: "per call", dec: allowAll(false)},
		{name: "task-shared", dec: reuseDecider(10), task: true},
	}
	for _, mode := range modes {
		for _, tc := range cases {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				clock := newClock()
				m, err := creds.NewMinter(creds.WithClock(clock.Now))
				require.NoError(t, err)
				iss := &skewedIssuer{Issuer: m, now: clock.Now, edit: tc.edit}
				f := newFixtureAt(t, clock.Now, toolguard.WithCredentialIssuer(iss), toolguard.WithDecider(mode.dec), toolguard.WithMaxCredentialTTL(maxTTL))
				ctx := context.Background()
				var task *toolguard.Task
				if mode.task {
					task = &toolguard.Task{ID: "t-1"}
					ctx = toolguard.WithTask(ctx, task)
				}
				var p probe
				_, err = wrap(t, f.guard, fetchTool, p.fn)(ctx, DocArgs{URL: "https://docs.example.com/"})
				issued, revoked := iss.ids()
				require.Len(t, issued, 1)
				rec := f.sink.last(t)
				if tc.allowed {
					require.NoError(t, err)
					require.EqualValues(t, 1, p.ran.Load())
					require.Equal(t, issued[0], rec.CredentialID)
					if task != nil {
						require.Empty(t, revoked, "the task's credential lives until the task ends")
						require.NoError(t, task.End(context.Background()))
					}
					_, revoked = iss.ids()
					require.Equal(t, issued, revoked, "revoked after the call")
					return
				}
				requireDenied(t, err, toolguard.CodeCredentialUnavailable)
				require.Zero(t, p.ran.Load(), "the tool ran")
				require.Equal(t, issued, revoked, "the refused credential is revoked")
				require.False(t, rec.Allow)
				require.Equal(t, toolguard.CodeCredentialUnavailable, rec.Code)
				require.Empty(t, rec.CredentialID)
			})
		}
	}
}
