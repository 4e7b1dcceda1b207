package creds

import (
	"crypto/ed25519"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/fakeclock"
	"github.com/ztagent/ztagent/internal/loop"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock shared by a minter and its verifiers.
type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock { return fakeclock.New(t0) }

// withTimers makes the background polls wait on timers instead of real time.
func withTimers(timers loop.Timers) RemoteOption {
	return remoteOptionFunc(func(c *remoteConfig) { c.timers = timers })
}

func newTestMinter(t *testing.T, clk *fakeClock, opts ...MinterOption) *Minter {
	t.Helper()
	m, err := NewMinter(append([]MinterOption{WithClock(clk.Now)}, opts...)...)
	require.NoError(t, err)
	return m
}

func testRequest() Request {
	return Request{
		Subject:  "spiffe://example.org/agent/support",
		Audience: "https://mail.example.com",
		Scopes:   []string{"email:send", "email:read"},
		CallID:   "call_7",
	}
}

// forge signs arbitrary claims and headers the way an attacker (or a buggy
// issuer) might, so Verify can be tested against tokens the Minter would never
// produce.
func forge(t *testing.T, alg jose.SignatureAlgorithm, key any, typ string, claims any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	require.NoError(t, err)
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	require.NoError(t, err)
	return tok
}

// goodClaims are claims a Minter with default issuer would produce at t0.
func goodClaims() map[string]any {
	return map[string]any{
		"iss":   defaultIssuer,
		"sub":   "spiffe://example.org/agent/support",
		"aud":   "https://mail.example.com",
		"scope": "email:send",
		"jti":   "forged-id",
		"iat":   t0.Unix(),
		"exp":   t0.Add(time.Minute).Unix(),
	}
}

func with(m map[string]any, k string, v any) map[string]any {
	out := make(map[string]any, len(m))
	for kk, vv := range m {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func mustKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	return k
}
