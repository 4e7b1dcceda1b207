package identity

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
)

// FetchJWTSVID mints a JWT-SVID for this source's SPIFFE ID (go-spiffe's
// jwtsvid.Source). It is signed with ES256 by the current JWT key, whose
// "kid" is in the JWT bundle, and lives as long as an X.509-SVID.
//
// Exactly one audience is required: p.Audience must be set and
// p.ExtraAudiences must be empty, so a token meant for one service cannot be
// replayed at another. p.Subject may be left zero; if set it must equal ID(),
// since this source speaks for one workload only.
//
// The token is stamped with the configured clock, but go-spiffe checks "exp"
// against the wall clock when it builds the SVID, so a clock far from real
// time makes this method fail rather than hand out a token nobody accepts.
func (s *DevSource) FetchJWTSVID(ctx context.Context, p jwtsvid.Params) (*jwtsvid.SVID, error) {
	st := s.st.Load()
	if st == nil {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("identity: fetch jwt-svid: %w", err)
	}
	switch {
	case p.Audience == "":
		return nil, errors.New("identity: fetch jwt-svid: audience is required")
	case len(p.ExtraAudiences) > 0:
		return nil, errors.New("identity: fetch jwt-svid: exactly one audience is allowed")
	case !p.Subject.IsZero() && p.Subject != s.id:
		return nil, fmt.Errorf("identity: fetch jwt-svid: subject %q is not this source's id %q", p.Subject, s.id)
	}

	a := st.current
	now := s.now()
	exp := now.Add(s.ttl)
	if exp.After(a.notAfter) {
		exp = a.notAfter // the signing key must stay in the bundle as long as the token lives
	}

	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: a.jwtKey, KeyID: a.jwtKeyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("identity: fetch jwt-svid: signer: %w", err)
	}
	token, err := jwt.Signed(signer).Claims(jwt.Claims{
		Subject:  s.id.String(),
		Audience: jwt.Audience{p.Audience},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(exp),
	}).Serialize()
	if err != nil {
		return nil, fmt.Errorf("identity: fetch jwt-svid: sign: %w", err)
	}

	// ParseInsecure is the only way to build a jwtsvid.SVID that carries its
	// token; the signature is ours, made just above, so skipping its check is
	// sound here.
	svid, err := jwtsvid.ParseInsecure(token, []string{p.Audience})
	if err != nil {
		return nil, fmt.Errorf("identity: fetch jwt-svid: %w", err)
	}
	return svid, nil
}
