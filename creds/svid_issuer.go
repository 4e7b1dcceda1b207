package creds

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"

	"github.com/ztagent/ztagent/internal/digest"
)

// SVIDIssuerOption configures NewSVIDIssuer. Sealed.
type SVIDIssuerOption interface{ applySVIDIssuer(*svidConfig) }

type svidConfig struct {
	maxTTL time.Duration
	now    func() time.Time
}

// WithSVIDMaxTTL refuses JWT-SVIDs whose lifetime (exp − iat) exceeds d.
// Default 5m, SPIRE's default JWT-SVID TTL and the minter's cap.
func WithSVIDMaxTTL(d time.Duration) SVIDIssuerOption {
	return svidOptionFunc(func(c *svidConfig) { c.maxTTL = d })
}

// WithSVIDClock is WithClock.
//
// Deprecated: use WithClock, the clock option of every component.
func WithSVIDClock(now func() time.Time) SVIDIssuerOption { return WithClock(now) }

// SVIDIssuer issues JWT-SVIDs from the SPIFFE Workload API (any
// jwtsvid.Source) as credentials, with the request's audience as the single
// audience, for SPIFFE-native resource servers (which verify them against the
// trust bundle, not with Verifier).
//
// What a JWT-SVID cannot carry, it does not pretend to:
//   - Scopes: a JWT-SVID has no scope claim, so Credential.Scopes is empty
//     and Request.Scopes binds nothing; the resource server must authorize on
//     the SPIFFE ID.
//   - TTL: the lifetime is the SVID's (chosen by SPIRE), not Request.TTL;
//     an SVID living longer than the configured max TTL is refused.
//   - Delegation: there is no act claim, so a Request with Delegation is
//     refused rather than issued as if the agent acted for itself.
//   - Revocation: JWT-SVIDs cannot be revoked. Revoke only records the id as
//     revoked here, so a Verifier in this process that uses the issuer as its
//     RevocationChecker rejects it; every other holder accepts the token until
//     it expires. Because SPIRE (and identity's source) hand out the same
//     JWT-SVID again until half its lifetime, Issue refuses an SVID it has
//     already revoked rather than hand a revoked token to the next call; use
//     per-task credentials, or keep revocation for the minter.
type SVIDIssuer struct {
	src    jwtsvid.Source
	maxTTL time.Duration
	now    func() time.Time
	ledger *ledger
	err    error
}

var (
	_ Issuer            = (*SVIDIssuer)(nil)
	_ RevocationChecker = (*SVIDIssuer)(nil)
)

// NewSVIDIssuer returns an issuer over src. A nil src or invalid options make
// every Issue fail.
func NewSVIDIssuer(src jwtsvid.Source, opts ...SVIDIssuerOption) *SVIDIssuer {
	cfg := svidConfig{maxTTL: defaultMaxTTL, now: time.Now}
	var nilOpt error
	for i, o := range opts {
		if o == nil {
			nilOpt = errors.Join(nilOpt, fmt.Errorf("option %d is nil", i))
			continue
		}
		o.applySVIDIssuer(&cfg)
	}
	s := &SVIDIssuer{src: src, maxTTL: cfg.maxTTL, now: cfg.now, ledger: newLedger()}
	switch {
	case nilOpt != nil:
		s.err = nilOpt
	case src == nil:
		s.err = errors.New("nil JWT-SVID source")
	case cfg.maxTTL < time.Second:
		s.err = fmt.Errorf("max TTL %s is below one second", cfg.maxTTL)
	case cfg.now == nil:
		s.err = errors.New("clock must not be nil")
	}
	return s
}

// Issue fetches a JWT-SVID for r.Audience. The SVID must name r.Subject and
// exactly that audience, be unexpired, and live no longer than the max TTL.
func (s *SVIDIssuer) Issue(ctx context.Context, r Request) (*Credential, error) {
	if s.err != nil {
		return nil, fmt.Errorf("creds: svid issuer: %w", s.err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("creds: svid issuer: %w", err)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	if len(r.Delegation) > 0 {
		return nil, errors.New("creds: svid issuer: a JWT-SVID cannot carry a delegation chain")
	}
	svid, err := s.src.FetchJWTSVID(ctx, jwtsvid.Params{Audience: r.Audience})
	if err != nil {
		return nil, fmt.Errorf("creds: svid issuer: fetch: %w", err)
	}
	if svid == nil {
		return nil, errors.New("creds: svid issuer: source returned no SVID")
	}
	switch {
	case svid.ID.String() != r.Subject:
		return nil, fmt.Errorf("creds: svid issuer: SVID names %q, request is for %q", svid.ID, r.Subject)
	case len(svid.Audience) != 1 || svid.Audience[0] != r.Audience:
		return nil, fmt.Errorf("creds: svid issuer: SVID audience %q, want exactly %q", svid.Audience, r.Audience)
	}
	now := s.now()
	exp := svid.Expiry.UTC()
	iat, ok := numericClaim(svid.Claims, "iat")
	if !ok {
		iat = time.Unix(now.Unix(), 0).UTC()
	}
	switch {
	case !now.Before(exp):
		return nil, fmt.Errorf("creds: svid issuer: SVID expired at %s", exp.Format(time.RFC3339))
	case exp.Sub(iat) > s.maxTTL:
		return nil, fmt.Errorf("creds: svid issuer: SVID lifetime %s exceeds max TTL %s", exp.Sub(iat), s.maxTTL)
	}
	token := svid.Marshal()
	if token == "" {
		return nil, errors.New("creds: svid issuer: source returned an SVID without its token")
	}
	id, _ := svid.Claims["jti"].(string)
	if id == "" {
		id = digest.Of([]byte(token))
	}
	if s.ledger.isRevoked(id) {
		return nil, fmt.Errorf("creds: svid issuer: the source returned JWT-SVID %s again after it was revoked", id)
	}
	// The same SVID may come back for another call; it is then already known.
	_ = s.ledger.add(id, exp.Add(maxLeeway), now)
	return &Credential{
		ID: id, Audience: r.Audience, Subject: r.Subject,
		IssuedAt: iat, ExpiresAt: exp, token: &token,
	}, nil
}

// Revoke records id as revoked in this process only (JWT-SVIDs cannot be
// revoked; see SVIDIssuer) and returns nil. An id this issuer did not issue,
// or has forgotten because it expired, is ErrUnknownID.
func (s *SVIDIssuer) Revoke(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("creds: svid issuer: revoke: %w", err)
	}
	if s.err != nil {
		return fmt.Errorf("creds: svid issuer: %w", s.err)
	}
	if id == "" || !s.ledger.revoke(id, s.now()) {
		return fmt.Errorf("creds: svid issuer: revoke: %w", ErrUnknownID)
	}
	return nil
}

// Revoked reports whether Revoke was called for id (RevocationChecker).
func (s *SVIDIssuer) Revoked(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("creds: revocation check: %w", err)
	}
	return s.ledger.isRevoked(id), nil
}

// numericClaim reads a NumericDate claim as decoded by go-jose (float64) or
// encoding/json (json.Number).
func numericClaim(claims map[string]any, name string) (time.Time, bool) {
	switch v := claims[name].(type) {
	case float64:
		return time.Unix(int64(v), 0).UTC(), true
	case int64:
		return time.Unix(v, 0).UTC(), true
	case json.Number:
		n, err := v.Int64()
		return time.Unix(n, 0).UTC(), err == nil
	}
	return time.Time{}, false
}
