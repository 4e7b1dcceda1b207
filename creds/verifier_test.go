package creds

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
)

func TestNewVerifierOptions(t *testing.T) {
	pub := mustKey(t).Public().(ed25519.PublicKey)
	tests := []struct {
		name    string
		key     ed25519.PublicKey
		issuer  string
		rc      RevocationChecker
		opts    []VerifierOption
		wantErr string
	}{
		{"ok", pub, "iss", NoRevocationCheck(), nil, ""},
		{"max leeway", pub, "iss", NoRevocationCheck(), []VerifierOption{WithLeeway(30 * time.Second)}, ""},
		{"nil key", nil, "iss", NoRevocationCheck(), nil, "public key"},
		{"short key", pub[:10], "iss", NoRevocationCheck(), nil, "public key"},
		{"empty issuer", pub, "", NoRevocationCheck(), nil, "issuer"},
		{"nil revocation checker", pub, "iss", nil, nil, "RevocationChecker"},
		{"nil clock", pub, "iss", NoRevocationCheck(), []VerifierOption{WithClock(nil)}, "clock"},
		{"nil option", pub, "iss", NoRevocationCheck(), []VerifierOption{WithLeeway(0), nil}, "option 1 is nil"},
		{"negative leeway", pub, "iss", NoRevocationCheck(), []VerifierOption{WithLeeway(-time.Second)}, "leeway"},
		{"leeway too large", pub, "iss", NoRevocationCheck(), []VerifierOption{WithLeeway(31 * time.Second)}, "leeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.key, tt.issuer, tt.rc, tt.opts...)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, v)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.True(t, strings.HasPrefix(err.Error(), "creds: "))
			require.Nil(t, v)
		})
	}
}

func TestUnusableVerifiersFailClosed(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	c, err := m.Issue(context.Background(), testRequest())
	require.NoError(t, err)
	for name, v := range map[string]*Verifier{
		"zero value":        {},
		"nil":               nil,
		"bad minter option": m.Verifier(WithLeeway(time.Hour)),
	} {
		t.Run(name, func(t *testing.T) {
			claims, err := v.Verify(context.Background(), c.Token(), c.Audience)
			require.Error(t, err)
			require.Nil(t, claims)
		})
	}
}

// Verify's first refusals come in a fixed order: an unusable verifier says
// so, whatever the audience; then a missing audience is ErrAudience, before
// the context or the token is looked at.
func TestVerifyErrorOrder(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := m.Verifier(WithLeeway(time.Hour)).Verify(context.Background(), "", "")
	require.ErrorContains(t, err, "unusable verifier")
	require.NotErrorIs(t, err, ErrAudience)
	_, err = (&Verifier{}).Verify(context.Background(), "", "")
	require.ErrorContains(t, err, "not configured")
	require.NotErrorIs(t, err, ErrAudience)

	_, err = m.Verifier().Verify(canceled, "not a token", "")
	require.ErrorIs(t, err, ErrAudience)
	require.NotErrorIs(t, err, context.Canceled)
	_, err = m.Verifier().Verify(canceled, "not a token", "https://mail.example.com")
	require.ErrorIs(t, err, context.Canceled)
}

func TestVerifyAccepts(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	r := testRequest()
	c, err := m.Issue(ctx, r)
	require.NoError(t, err)

	v, err := NewVerifier(m.PublicKey(), defaultIssuer, m, WithClock(clk.Now))
	require.NoError(t, err)
	got, err := v.Verify(ctx, c.Token(), r.Audience)
	require.NoError(t, err)
	require.Equal(t, &Claims{
		ID: c.ID, Issuer: defaultIssuer, Subject: r.Subject, Audience: r.Audience,
		Scopes: r.Scopes, CallID: r.CallID, IssuedAt: c.IssuedAt, ExpiresAt: c.ExpiresAt,
	}, got)

	// Still valid one second before expiry.
	clk.Advance(c.TTL() - time.Second)
	_, err = v.Verify(ctx, c.Token(), r.Audience)
	require.NoError(t, err)
}

func TestVerifyRejects(t *testing.T) {
	key := mustKey(t)
	otherKey := mustKey(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	pub := key.Public().(ed25519.PublicKey)
	const aud = "https://mail.example.com"

	// tokens an honest minter could produce; built per case with a fresh minter
	type env struct {
		m   *Minter
		clk *fakeClock
		c   *Credential
	}
	tests := []struct {
		name   string
		leeway time.Duration
		rc     RevocationChecker // nil → the minter
		token  func(t *testing.T, e env) string
		aud    string
		ctx    func() context.Context
		want   error
	}{
		{name: "wrong audience", aud: "https://evil.example.com", want: ErrAudience,
			token: func(t *testing.T, e env) string { return e.c.Token() }},
		{name: "empty expected audience", aud: "-", want: ErrAudience,
			token: func(t *testing.T, e env) string { return e.c.Token() }},
		{name: "two audiences", want: ErrAudience,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "aud", []string{aud, "https://other"}))
			}},
		{name: "no audience", want: ErrAudience,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "aud", nil))
			}},
		{name: "expired", want: ErrExpired,
			token: func(t *testing.T, e env) string { e.clk.Advance(2 * time.Minute); return e.c.Token() }},
		{name: "expired at exactly exp", want: ErrExpired,
			token: func(t *testing.T, e env) string { e.clk.Advance(e.c.TTL()); return e.c.Token() }},
		{name: "expired beyond leeway", leeway: 5 * time.Second, want: ErrExpired,
			token: func(t *testing.T, e env) string { e.clk.Advance(e.c.TTL() + 5*time.Second); return e.c.Token() }},
		{name: "iat in the future", want: ErrNotYetValid,
			token: func(t *testing.T, e env) string {
				c := with(goodClaims(), "iat", t0.Add(10*time.Second).Unix())
				return forge(t, jose.EdDSA, key, "at+jwt", with(c, "exp", t0.Add(time.Minute).Unix()))
			}},
		{name: "iat in the future beyond leeway", leeway: 5 * time.Second, want: ErrNotYetValid,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "iat", t0.Add(6*time.Second).Unix()))
			}},
		{name: "nbf in the future", want: ErrNotYetValid,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "nbf", t0.Add(10*time.Second).Unix()))
			}},
		{name: "revoked", want: ErrRevoked,
			token: func(t *testing.T, e env) string {
				require.NoError(t, e.m.Revoke(context.Background(), e.c.ID))
				return e.c.Token()
			}},
		{name: "revocation checker fails", rc: failingChecker{}, want: errCheckerDown,
			token: func(t *testing.T, e env) string { return e.c.Token() }},
		{name: "canceled context", want: context.Canceled,
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx
			},
			token: func(t *testing.T, e env) string { return e.c.Token() }},
		{name: "other key", want: ErrSignature,
			token: func(t *testing.T, e env) string { return forge(t, jose.EdDSA, otherKey, "at+jwt", goodClaims()) }},
		{name: "tampered payload", want: ErrSignature,
			token: func(t *testing.T, e env) string {
				parts := strings.Split(e.c.Token(), ".")
				evil := forge(t, jose.EdDSA, otherKey, "at+jwt", with(goodClaims(), "scope", "admin"))
				parts[1] = strings.Split(evil, ".")[1]
				return strings.Join(parts, ".")
			}},
		{name: "tampered signature", want: ErrSignature,
			token: func(t *testing.T, e env) string {
				tok := []byte(e.c.Token())
				i := len(tok) - 5
				tok[i] = map[bool]byte{true: 'B', false: 'A'}[tok[i] == 'A']
				return string(tok)
			}},
		{name: "alg none", want: ErrSignature,
			token: func(t *testing.T, e env) string {
				return unsignedToken(t, `{"alg":"none","typ":"at+jwt"}`, e.c.Token())
			}},
		{name: "alg HS256 with the public key as secret", want: ErrSignature,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.HS256, []byte(pub), "at+jwt", goodClaims())
			}},
		{name: "alg ES256", want: ErrSignature,
			token: func(t *testing.T, e env) string { return forge(t, jose.ES256, ecKey, "at+jwt", goodClaims()) }},
		{name: "wrong issuer", want: ErrIssuer,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "iss", "urn:other"))
			}},
		{name: "missing typ", want: ErrMalformed,
			token: func(t *testing.T, e env) string { return forge(t, jose.EdDSA, key, "", goodClaims()) }},
		{name: "other typ", want: ErrMalformed,
			token: func(t *testing.T, e env) string { return forge(t, jose.EdDSA, key, "JWT", goodClaims()) }},
		{name: "missing jti", want: ErrMalformed,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "jti", nil))
			}},
		{name: "missing sub", want: ErrMalformed,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "sub", nil))
			}},
		{name: "missing iss", want: ErrMalformed,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "iss", nil))
			}},
		{name: "missing exp", want: ErrMalformed,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "exp", nil))
			}},
		{name: "missing iat", want: ErrMalformed,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "iat", nil))
			}},
		{name: "exp before iat", want: ErrMalformed,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "exp", t0.Add(-time.Second).Unix()))
			}},
		{name: "exp not a number", want: ErrMalformed,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "exp", "soon"))
			}},
		{name: "scope not a string", want: ErrMalformed,
			token: func(t *testing.T, e env) string {
				return forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "scope", []string{"a"}))
			}},
		{name: "empty", want: ErrMalformed, token: func(t *testing.T, e env) string { return "" }},
		{name: "garbage", want: ErrMalformed, token: func(t *testing.T, e env) string { return "not a token" }},
		{name: "two parts", want: ErrMalformed,
			token: func(t *testing.T, e env) string {
				return strings.Join(strings.Split(e.c.Token(), ".")[:2], ".")
			}},
		{name: "payload not JSON", want: ErrMalformed,
			token: func(t *testing.T, e env) string {
				s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: key},
					(&jose.SignerOptions{}).WithType("at+jwt"))
				require.NoError(t, err)
				jws, err := s.Sign([]byte("hello"))
				require.NoError(t, err)
				tok, err := jws.CompactSerialize()
				require.NoError(t, err)
				return tok
			}},
		{name: "JSON serialization", want: ErrMalformed,
			token: func(t *testing.T, e env) string {
				return `{"payload":"e30","protected":"eyJhbGciOiJFZERTQSJ9","signature":"AA"}`
			}},
		{name: "too large", want: ErrMalformed,
			token: func(t *testing.T, e env) string { return e.c.Token() + strings.Repeat("A", maxTokenSize) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			m := newTestMinter(t, clk, WithSigningKey(key))
			c, err := m.Issue(context.Background(), testRequest())
			require.NoError(t, err)
			token := tt.token(t, env{m: m, clk: clk, c: c})

			var rc RevocationChecker = m
			if tt.rc != nil {
				rc = tt.rc
			}
			v, err := NewVerifier(m.PublicKey(), defaultIssuer, rc, WithClock(clk.Now), WithLeeway(tt.leeway))
			require.NoError(t, err)
			ctx := context.Background()
			if tt.ctx != nil {
				ctx = tt.ctx()
			}
			wantAud := aud
			switch tt.aud {
			case "-":
				wantAud = ""
			case "":
			default:
				wantAud = tt.aud
			}

			claims, err := v.Verify(ctx, token, wantAud)
			require.ErrorIs(t, err, tt.want)
			require.Nil(t, claims)
			require.True(t, strings.HasPrefix(err.Error(), "creds: "), err.Error())
			if token != "" {
				require.NotContains(t, err.Error(), token)
				for _, part := range strings.Split(token, ".") {
					if len(part) > 8 {
						require.NotContains(t, err.Error(), part, "no token segment in the error")
					}
				}
			}
		})
	}
}

func TestVerifyLeewayAccepts(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	key := mustKey(t)
	m := newTestMinter(t, clk, WithSigningKey(key))
	c, err := m.Issue(ctx, testRequest())
	require.NoError(t, err)
	v := m.Verifier(WithLeeway(5 * time.Second))

	clk.Advance(c.TTL() + 4*time.Second)
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.NoError(t, err, "expired within leeway")

	future := with(goodClaims(), "iat", clk.Now().Add(5*time.Second).Unix())
	future = with(future, "exp", clk.Now().Add(time.Minute).Unix())
	_, err = v.Verify(ctx, forge(t, jose.EdDSA, key, "at+jwt", future), "https://mail.example.com")
	require.NoError(t, err, "issued in the future within leeway")
}

func TestVerifyAcceptsMediaTypeSpelling(t *testing.T) {
	key := mustKey(t)
	m := newTestMinter(t, newFakeClock(), WithSigningKey(key))
	for _, typ := range []string{"at+jwt", "AT+JWT", "application/at+jwt"} {
		tok := forge(t, jose.EdDSA, key, typ, goodClaims())
		_, err := m.Verifier().Verify(context.Background(), tok, "https://mail.example.com")
		require.NoError(t, err, typ)
	}
}

func TestNoRevocationCheck(t *testing.T) {
	ctx := context.Background()
	clk := newFakeClock()
	m := newTestMinter(t, clk)
	c, err := m.Issue(ctx, testRequest())
	require.NoError(t, err)
	require.NoError(t, m.Revoke(ctx, c.ID))

	v, err := NewVerifier(m.PublicKey(), defaultIssuer, NoRevocationCheck(), WithClock(clk.Now))
	require.NoError(t, err)
	_, err = v.Verify(ctx, c.Token(), c.Audience)
	require.NoError(t, err, "revocation is ignored only when asked for by name")
}

var errCheckerDown = errors.New("revocation service down")

type failingChecker struct{}

func (failingChecker) Revoked(context.Context, string) (bool, error) { return false, errCheckerDown }

// unsignedToken re-uses the payload of a real token under a forged header
// with an empty signature.
func unsignedToken(t *testing.T, header, real string) string {
	t.Helper()
	parts := strings.Split(real, ".")
	require.Len(t, parts, 3)
	return base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + parts[1] + "."
}
