package identity

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// DevSource is an in-process throwaway CA that gives this agent a short-lived
// SPIFFE identity. It implements [Source] and go-spiffe's x509svid.Source,
// jwtsvid.Source, x509bundle.Source and jwtbundle.Source.
//
// It is safe for concurrent use. Reads are lock-free. The zero value is
// closed: every method returns [ErrClosed]. Create one with [NewDevSource]
// and release it with Close.
type DevSource struct {
	id  spiffeid.ID
	ttl time.Duration
	now func() time.Time

	st atomic.Pointer[state] // nil once closed

	mu sync.Mutex // serializes writers (Rotate, Close); readers never take it

	closeOnce sync.Once
	stop      context.CancelFunc // ends the rotation loop
	done      chan struct{}      // closed when it has ended
}

var (
	_ Source            = (*DevSource)(nil)
	_ x509svid.Source   = (*DevSource)(nil)
	_ jwtsvid.Source    = (*DevSource)(nil)
	_ x509bundle.Source = (*DevSource)(nil)
	_ jwtbundle.Source  = (*DevSource)(nil)
)

// NewDevSource creates the CA, mints the first SVID and starts rotating it in
// the background at half of its TTL. ctx bounds construction only; the
// rotation goroutine runs until Close, as with go-spiffe's workloadapi
// sources.
func NewDevSource(ctx context.Context, opts ...DevOption) (*DevSource, error) {
	cfg := defaultDevConfig()
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("identity: option %d is nil", i)
		}
		o.applyDev(&cfg)
	}
	id, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("identity: new dev source: %w", err)
	}

	now := cfg.now()
	auth, err := newAuthority(id.TrustDomain(), now, authorityTTL(cfg.ttl))
	if err != nil {
		return nil, err
	}
	svid, err := mintX509SVID(auth, id, now, cfg.ttl)
	if err != nil {
		return nil, err
	}

	loopCtx, stop := context.WithCancel(context.Background())
	s := &DevSource{
		id:   id,
		ttl:  cfg.ttl,
		now:  cfg.now,
		stop: stop,
		done: make(chan struct{}),
	}
	s.st.Store(newState(id.TrustDomain(), svid, auth, nil))

	every := cfg.rotateEvery
	if every == 0 {
		every = cfg.ttl / 2
	}
	go s.run(loopCtx, cfg.timers, every)
	return s, nil
}

// ID returns the SPIFFE ID this source mints SVIDs for. It stays valid after
// Close.
func (s *DevSource) ID() spiffeid.ID { return s.id }

// GetX509SVID returns the current X.509-SVID. It returns [ErrExpired] instead
// of an SVID whose NotAfter has passed (by the configured clock), and
// [ErrClosed] after Close.
//
// The returned SVID is a copy: callers may modify it without affecting the
// source.
func (s *DevSource) GetX509SVID() (*x509svid.SVID, error) {
	st := s.st.Load()
	if st == nil {
		return nil, ErrClosed
	}
	if !s.now().Before(st.svid.Certificates[0].NotAfter) {
		return nil, ErrExpired
	}
	svid := *st.svid
	svid.Certificates = slices.Clone(st.svid.Certificates)
	return &svid, nil
}

// Close stops the rotation goroutine, waits for it to exit and drops all
// keys. It is idempotent and always returns nil.
func (s *DevSource) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
			<-s.done
		}
		s.mu.Lock()
		s.st.Store(nil)
		s.mu.Unlock()
	})
	return nil
}

// String shows only the SPIFFE ID: the source holds private keys, and
// printing it (for example with %v in a log line) must never reveal them.
func (s *DevSource) String() string {
	if s == nil {
		return "identity.DevSource(nil)"
	}
	return "identity.DevSource(" + s.id.String() + ")"
}

// GoString keeps %#v from dumping the struct (and the keys behind it).
func (s *DevSource) GoString() string { return s.String() }
