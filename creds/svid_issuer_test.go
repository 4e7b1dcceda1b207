package creds

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/fakeclock"
)

// fakeSVIDs signs real (ES256) JWT-SVIDs, so the issuer sees what the
// Workload API would hand out.
type fakeSVIDs struct {
	t           *testing.T
	id          string
	ttl         time.Duration
	noJTI       bool
	audOverride []string
	err         error
	calls       int
	now         func() time.Time
}

func (f *fakeSVIDs) FetchJWTSVID(_ context.Context, p jwtsvid.Params) (*jwtsvid.SVID, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	aud := []string{p.Audience}
	if f.audOverride != nil {
		aud = f.audOverride
	}
	iat := f.now()
	claims := map[string]any{"sub": f.id, "aud": aud, "iat": iat.Unix(), "exp": iat.Add(f.ttl).Unix()}
	if !f.noJTI {
		claims["jti"] = "svid-jti"
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(f.t, err)
	tok := forge(f.t, jose.ES256, key, "JWT", claims)
	return jwtsvid.ParseInsecure(tok, aud)
}

func TestSVIDIssuer(t *testing.T) {
	ctx := context.Background()
	clk := fakeclock.New(time.Now().Truncate(time.Second)) // go-spiffe parses with the real clock
	const agent = "spiffe://example.org/agent/support"
	src := &fakeSVIDs{t: t, id: agent, ttl: 5 * time.Minute, now: clk.Now}
	iss := NewSVIDIssuer(src, WithClock(clk.Now))
	r := Request{Subject: agent, Audience: "https://mail.example.com", Scopes: []string{"email:send"}}

	c, err := iss.Issue(ctx, r)
	require.NoError(t, err)
	require.Equal(t, "svid-jti", c.ID)
	require.Equal(t, r.Audience, c.Audience)
	require.Equal(t, agent, c.Subject)
	require.Empty(t, c.Scopes, "a JWT-SVID cannot carry scopes")
	require.Equal(t, 5*time.Minute, c.TTL())
	svid, err := jwtsvid.ParseInsecure(c.Token(), []string{r.Audience})
	require.NoError(t, err)
	require.Equal(t, []string{r.Audience}, svid.Audience)

	// Revoke is local: this issuer, as a RevocationChecker, now says revoked,
	// and the same SVID is not handed out again.
	require.NoError(t, iss.Revoke(ctx, c.ID))
	revoked, err := iss.Revoked(ctx, c.ID)
	require.NoError(t, err)
	require.True(t, revoked)
	_, err = iss.Issue(ctx, r)
	require.ErrorContains(t, err, "again after it was revoked")
	require.ErrorIs(t, iss.Revoke(ctx, "never-issued"), ErrUnknownID)

	// No jti: the id is the token digest.
	src.noJTI = true
	c, err = iss.Issue(ctx, r)
	require.NoError(t, err)
	require.Regexp(t, `^sha256:[0-9a-f]{64}$`, c.ID)
}

func TestSVIDIssuerRefuses(t *testing.T) {
	const agent = "spiffe://example.org/agent/support"
	r := Request{Subject: agent, Audience: "https://mail.example.com"}
	tests := []struct {
		name string
		src  func(*fakeSVIDs)
		req  func(*Request)
		opts []SVIDIssuerOption
		want string
	}{
		{name: "lifetime above max TTL", src: func(f *fakeSVIDs) { f.ttl = time.Hour }, want: "exceeds max TTL"},
		{name: "configured max TTL", opts: []SVIDIssuerOption{WithSVIDMaxTTL(time.Minute)}, want: "exceeds max TTL"},
		{name: "another SPIFFE ID", src: func(f *fakeSVIDs) { f.id = "spiffe://example.org/agent/other" }, want: "SVID names"},
		{name: "extra audience", src: func(f *fakeSVIDs) { f.audOverride = []string{r.Audience, "https://x"} }, want: "want exactly"},
		{name: "fetch fails", src: func(f *fakeSVIDs) { f.err = errors.New("agent down") }, want: "agent down"},
		{name: "delegation", req: func(r *Request) { r.Delegation = []string{"user:alice"} }, want: "delegation"},
		{name: "invalid request", req: func(r *Request) { r.Audience = "" }, want: "audience is required"},
		{name: "bad max TTL", opts: []SVIDIssuerOption{WithSVIDMaxTTL(0)}, want: "below one second"},
		{name: "nil option", opts: []SVIDIssuerOption{nil}, want: "option 1 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := fakeclock.New(time.Now().Truncate(time.Second)) // go-spiffe parses with the real clock
			src := &fakeSVIDs{t: t, id: agent, ttl: 5 * time.Minute, now: clk.Now}
			if tt.src != nil {
				tt.src(src)
			}
			req := r
			if tt.req != nil {
				tt.req(&req)
			}
			iss := NewSVIDIssuer(src, append([]SVIDIssuerOption{WithClock(clk.Now)}, tt.opts...)...)
			c, err := iss.Issue(context.Background(), req)
			require.ErrorContains(t, err, tt.want)
			require.Nil(t, c)
		})
	}
	t.Run("nil source", func(t *testing.T) {
		_, err := NewSVIDIssuer(nil).Issue(context.Background(), r)
		require.ErrorContains(t, err, "nil JWT-SVID source")
	})
	t.Run("expired SVID", func(t *testing.T) {
		clk := fakeclock.New(time.Now().Truncate(time.Second)) // go-spiffe parses with the real clock
		src := &fakeSVIDs{t: t, id: agent, ttl: time.Minute, now: clk.Now}
		clk.Advance(2 * time.Minute) // the issuer's clock is past the SVID's expiry
		src.now = time.Now
		_, err := NewSVIDIssuer(src, WithClock(clk.Now)).Issue(context.Background(), r)
		require.ErrorContains(t, err, "expired")
	})
}
