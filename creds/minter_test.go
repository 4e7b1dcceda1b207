package creds

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"
)

func TestNewMinterOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    []MinterOption
		wantErr string
	}{
		{"defaults", nil, ""},
		{"nil option", []MinterOption{nil}, "option 0 is nil"},
		{"empty issuer", []MinterOption{WithIssuer("")}, "issuer"},
		{"zero max TTL", []MinterOption{WithMaxTTL(0)}, "max TTL"},
		{"negative max TTL", []MinterOption{WithMaxTTL(-time.Second)}, "max TTL"},
		{"sub-second max TTL", []MinterOption{WithMaxTTL(500 * time.Millisecond)}, "max TTL"},
		{"zero default TTL", []MinterOption{WithDefaultTTL(0)}, "default TTL"},
		{"negative default TTL", []MinterOption{WithDefaultTTL(-time.Second)}, "default TTL"},
		{"nil clock", []MinterOption{WithClock(nil)}, "clock"},
		{"nil key", []MinterOption{WithSigningKey(nil)}, "signing key"},
		{"short key", []MinterOption{WithSigningKey(make(ed25519.PrivateKey, 10))}, "signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMinter(tt.opts...)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, m)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.True(t, strings.HasPrefix(err.Error(), "creds: "), err.Error())
			require.Nil(t, m)
		})
	}
}

func TestMinterTTL(t *testing.T) {
	tests := []struct {
		name string
		opts []MinterOption
		req  time.Duration
		want time.Duration
	}{
		{"zero uses default", nil, 0, 60 * time.Second},
		{"negative uses default", nil, -time.Minute, 60 * time.Second},
		{"asked", nil, 10 * time.Second, 10 * time.Second},
		{"clamped to default max", nil, 10 * time.Minute, 5 * time.Minute},
		{"clamped to custom max", []MinterOption{WithMaxTTL(30 * time.Second)}, time.Minute, 30 * time.Second},
		{"default clamped to max", []MinterOption{WithMaxTTL(30 * time.Second)}, 0, 30 * time.Second},
		{"custom default", []MinterOption{WithDefaultTTL(15 * time.Second)}, 0, 15 * time.Second},
		{"custom default clamped", []MinterOption{WithDefaultTTL(time.Hour)}, 0, 5 * time.Minute},
		{"truncated to seconds", nil, 1500 * time.Millisecond, time.Second},
		{"at least one second", nil, time.Millisecond, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			clk.Advance(700 * time.Millisecond) // sub-second now must not leak into the times
			m := newTestMinter(t, clk, tt.opts...)
			r := testRequest()
			r.TTL = tt.req
			c, err := m.Issue(context.Background(), r)
			require.NoError(t, err)
			require.Equal(t, tt.want, c.TTL())
			require.Equal(t, t0, c.IssuedAt)
			require.Equal(t, t0.Add(tt.want), c.ExpiresAt)

			got, err := m.Verifier().Verify(context.Background(), c.Token(), r.Audience)
			require.NoError(t, err)
			require.Equal(t, c.ExpiresAt, got.ExpiresAt, "token exp must match the credential")
		})
	}
}

func TestIssueRejectsBadRequests(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Request)
	}{
		{"no subject", func(r *Request) { r.Subject = "" }},
		{"no audience", func(r *Request) { r.Audience = "" }},
		{"empty scope", func(r *Request) { r.Scopes = []string{"a", ""} }},
		{"scope with space", func(r *Request) { r.Scopes = []string{"email:send email:delete"} }},
		{"scope with quote", func(r *Request) { r.Scopes = []string{`a"b`} }},
		{"scope non-ASCII", func(r *Request) { r.Scopes = []string{"é"} }},
		{"invalid UTF-8 subject", func(r *Request) { r.Subject = "spiffe://x/\xff" }},
		{"invalid UTF-8 audience", func(r *Request) { r.Audience = "\xfe" }},
		{"invalid UTF-8 call id", func(r *Request) { r.CallID = "\xc3" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMinter(t, newFakeClock())
			r := testRequest()
			tt.mutate(&r)
			c, err := m.Issue(context.Background(), r)
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), "creds: "), err.Error())
			require.Nil(t, c)
			require.Zero(t, m.ledger.len(), "a rejected request must leave nothing recorded")
		})
	}
}

func TestIssueCanceledContext(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Issue(ctx, testRequest())
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, m.ledger.len())
	require.ErrorIs(t, m.Revoke(ctx, "x"), context.Canceled)
	_, err = m.Revoked(ctx, "x")
	require.ErrorIs(t, err, context.Canceled)
}

func TestIssuedTokenShape(t *testing.T) {
	clk := newFakeClock()
	m := newTestMinter(t, clk, WithIssuer("urn:test"))
	r := testRequest()
	c, err := m.Issue(context.Background(), r)
	require.NoError(t, err)

	raw, err := base64.RawURLEncoding.DecodeString(c.ID)
	require.NoError(t, err)
	require.Len(t, raw, 16, "jti is 128 random bits")

	tok, err := jwt.ParseSigned(c.Token(), []jose.SignatureAlgorithm{jose.EdDSA})
	require.NoError(t, err)
	require.Len(t, tok.Headers, 1)
	h := tok.Headers[0]
	require.Equal(t, "EdDSA", h.Algorithm)
	require.Equal(t, m.KeyID(), h.KeyID)
	require.Equal(t, "at+jwt", h.ExtraHeaders[jose.HeaderType])

	var std jwt.Claims
	var priv struct {
		Scope  string `json:"scope"`
		CallID string `json:"ztagent_call"`
	}
	require.NoError(t, tok.Claims(m.PublicKey(), &std, &priv))
	require.Equal(t, "urn:test", std.Issuer)
	require.Equal(t, r.Subject, std.Subject)
	require.Equal(t, jwt.Audience{r.Audience}, std.Audience)
	require.Equal(t, c.ID, std.ID)
	require.Equal(t, t0.Unix(), std.IssuedAt.Time().Unix())
	require.Equal(t, t0.Add(time.Minute).Unix(), std.Expiry.Time().Unix())
	require.Equal(t, "email:send email:read", priv.Scope)
	require.Equal(t, "call_7", priv.CallID)

	require.Equal(t, r.Subject, c.Subject)
	require.Equal(t, r.Audience, c.Audience)
	require.Equal(t, r.Scopes, c.Scopes)

	// The credential must not alias the caller's slice.
	r.Scopes[0] = "changed"
	require.Equal(t, "email:send", c.Scopes[0])
}

func TestIssueUniqueIDs(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	seen := map[string]bool{}
	for range 200 {
		c, err := m.Issue(context.Background(), testRequest())
		require.NoError(t, err)
		require.False(t, seen[c.ID])
		seen[c.ID] = true
	}
}

func TestWithSigningKey(t *testing.T) {
	k := mustKey(t)
	m, err := NewMinter(WithSigningKey(k))
	require.NoError(t, err)
	require.Equal(t, k.Public(), m.PublicKey())

	// The minter copies the key: wiping the caller's copy changes nothing.
	clear(k)
	c, err := m.Issue(context.Background(), testRequest())
	require.NoError(t, err)
	_, err = m.Verifier().Verify(context.Background(), c.Token(), c.Audience)
	require.NoError(t, err)

	// PublicKey returns a copy too.
	pk := m.PublicKey()
	clear(pk)
	require.NotEqual(t, pk, m.PublicKey())
}

func TestRevoke(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	c, err := m.Issue(ctx, testRequest())
	require.NoError(t, err)

	tests := []struct {
		name    string
		id      string
		wantErr error
	}{
		{"empty id", "", ErrUnknownID},
		{"unknown id", "nope", ErrUnknownID},
		{"known id", c.ID, nil},
		{"again is fine", c.ID, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.Revoke(ctx, tt.id)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			revoked, err := m.Revoked(ctx, tt.id)
			require.NoError(t, err)
			require.True(t, revoked)
		})
	}

	_, err = m.Revoked(ctx, "")
	require.Error(t, err, "an empty id cannot be answered; fail closed")
	revoked, err := m.Revoked(ctx, "nope")
	require.NoError(t, err)
	require.False(t, revoked)
}

func TestRevocationKeptUntilTokenCannotVerify(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	c, err := m.Issue(ctx, testRequest())
	require.NoError(t, err)
	require.NoError(t, m.Revoke(ctx, c.ID))

	// Just past expiry a verifier with the largest leeway still accepts the
	// signature and time, so the revocation must still be there.
	clk.Advance(c.TTL() + maxLeeway - time.Second)
	lenient := m.Verifier(WithLeeway(maxLeeway))
	_, err = lenient.Verify(ctx, c.Token(), c.Audience)
	require.ErrorIs(t, err, ErrRevoked)
	require.NoError(t, m.Revoke(ctx, c.ID), "revoking a recently expired credential is not an error")

	// Once no verifier can accept it, the id is pruned on the next write.
	clk.Advance(time.Second)
	_, err = m.Issue(ctx, testRequest())
	require.NoError(t, err)
	require.Equal(t, 1, m.ledger.len())
	require.ErrorIs(t, m.Revoke(ctx, c.ID), ErrUnknownID)
	_, err = lenient.Verify(ctx, c.Token(), c.Audience)
	require.ErrorIs(t, err, ErrExpired)
}

func TestLedgerPrunesOutOfOrderExpiries(t *testing.T) {
	l := newLedger()
	require.True(t, l.add("long", t0.Add(time.Hour), t0))
	require.True(t, l.add("short", t0.Add(time.Minute), t0))
	require.True(t, l.add("mid", t0.Add(10*time.Minute), t0))
	require.False(t, l.add("mid", t0.Add(10*time.Minute), t0), "duplicate id refused")

	require.False(t, l.revoke("short", t0.Add(2*time.Minute)))
	require.True(t, l.revoke("mid", t0.Add(2*time.Minute)))
	require.Equal(t, 2, l.len())
	require.True(t, l.isRevoked("mid"))
	require.False(t, l.isRevoked("long"))

	require.False(t, l.revoke("mid", t0.Add(10*time.Minute)))
	require.Equal(t, 1, l.len())
}

func TestMinterFormatHidesKey(t *testing.T) {
	k := mustKey(t)
	m, err := NewMinter(WithSigningKey(k), WithIssuer("urn:x"))
	require.NoError(t, err)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		out := fmt.Sprintf(verb, m)
		require.Equal(t, m.String(), out, verb)
		require.NotContains(t, out, base64.RawURLEncoding.EncodeToString(k.Seed()))
	}
	require.Contains(t, m.String(), "urn:x")
}
