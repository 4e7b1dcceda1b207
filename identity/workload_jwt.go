package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"

	"github.com/ztagent/ztagent/internal/loop"
)

// maxJWTAudiences bounds the cache: audiences come from policy decisions, and
// a bug there must not grow memory without limit.
const maxJWTAudiences = 1024

type jwtKey struct {
	subject   spiffeid.ID
	audiences string // sorted, NUL-joined
}

type jwtEntry struct {
	params   jwtsvid.Params
	svid     atomic.Pointer[jwtsvid.SVID]
	lastUsed atomic.Int64 // unix nanos, by the injected clock
}

// jwtCache holds JWT-SVIDs per audience. Reads of a fresh entry take a read
// lock only to find it; the token itself is behind an atomic pointer.
type jwtCache struct {
	fetch       func(context.Context, jwtsvid.Params) (*jwtsvid.SVID, error)
	trustDomain spiffeid.TrustDomain // zero: any (WithTrustDomain)
	mu          sync.RWMutex
	entries     map[jwtKey]*jwtEntry
}

func keyOf(p jwtsvid.Params) jwtKey {
	auds := append([]string{p.Audience}, p.ExtraAudiences...)
	slices.Sort(auds)
	return jwtKey{subject: p.Subject, audiences: strings.Join(auds, "\x00")}
}

func (c *jwtCache) get(ctx context.Context, p jwtsvid.Params, now func() time.Time, fetches *atomic.Uint64) (*jwtsvid.SVID, error) {
	if p.Audience == "" {
		return nil, errors.New("identity: JWT-SVID needs an audience")
	}
	k := keyOf(p)
	c.mu.RLock()
	e := c.entries[k]
	c.mu.RUnlock()
	t := now()
	if e != nil {
		e.lastUsed.Store(t.UnixNano())
		if sv := e.svid.Load(); sv != nil && t.Before(sv.Expiry) {
			return sv, nil
		}
	}
	sv, err := c.fetchValid(ctx, p, t)
	if err != nil {
		return nil, err
	}
	fetches.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e = c.entries[k]; e == nil {
		if len(c.entries) >= maxJWTAudiences {
			c.evictOldestLocked()
		}
		e = &jwtEntry{params: p}
		c.entries[k] = e
	}
	e.lastUsed.Store(t.UnixNano())
	e.svid.Store(sv)
	return sv, nil
}

// fetchValid asks the agent for a JWT-SVID and checks it as an X.509-SVID
// is checked: in date at t, and in the trust domain WithTrustDomain set.
// What fails a check is never cached or served.
func (c *jwtCache) fetchValid(ctx context.Context, p jwtsvid.Params, t time.Time) (*jwtsvid.SVID, error) {
	sv, err := c.fetch(ctx, p)
	switch {
	case err != nil:
		return nil, errors.Join(errors.New("identity: fetch JWT-SVID"), err)
	case sv == nil:
		return nil, errors.New("identity: fetch JWT-SVID: the agent returned none")
	case !t.Before(sv.Expiry):
		return nil, ErrExpired
	}
	if err := inTrustDomain(c.trustDomain, sv.ID); err != nil {
		return nil, fmt.Errorf("identity: JWT-SVID: %w", err)
	}
	return sv, nil
}

func (c *jwtCache) evictOldestLocked() {
	var oldest jwtKey
	var at int64 = -1
	for k, e := range c.entries {
		if u := e.lastUsed.Load(); at < 0 || u < at {
			oldest, at = k, u
		}
	}
	delete(c.entries, oldest)
}

// refreshLoop renews, off the hot path, every cached JWT-SVID past half its
// lifetime, and forgets audiences unused for two lifetimes. It looks every
// period; what is due is judged on the source's clock.
func (c *jwtCache) refreshLoop(ctx context.Context, wg *sync.WaitGroup, timers loop.Timers, every time.Duration, now func() time.Time, failures *atomic.Uint64) {
	defer wg.Done()
	loop.Loop{Timers: timers}.Every(ctx, every, func(ctx context.Context) { c.refresh(ctx, now(), failures) })
}

func (c *jwtCache) refresh(ctx context.Context, t time.Time, failures *atomic.Uint64) {
	c.mu.RLock()
	due := make([]*jwtEntry, 0, len(c.entries))
	var stale []jwtKey
	for k, e := range c.entries {
		sv := e.svid.Load()
		if sv == nil {
			continue
		}
		life := sv.Expiry.Sub(issuedAt(sv))
		if t.Sub(time.Unix(0, e.lastUsed.Load())) > 2*life {
			stale = append(stale, k)
			continue
		}
		if t.After(issuedAt(sv).Add(life / 2)) {
			due = append(due, e)
		}
	}
	c.mu.RUnlock()
	if len(stale) > 0 {
		c.mu.Lock()
		for _, k := range stale {
			delete(c.entries, k)
		}
		c.mu.Unlock()
	}
	for _, e := range due {
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		sv, err := c.fetchValid(fctx, e.params, t)
		cancel()
		if err != nil {
			failures.Add(1)
			continue
		}
		e.svid.Store(sv)
	}
}

// issuedAt reads iat; a token without it is treated as issued a lifetime
// ago, so it is refreshed at once.
func issuedAt(sv *jwtsvid.SVID) time.Time {
	if v, ok := sv.Claims["iat"].(float64); ok {
		return time.Unix(int64(v), 0)
	}
	return sv.Expiry.Add(-time.Hour)
}
