package creds_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/creds"
	"github.com/ztagent/ztagent/internal/fakeclock"
)

func TestSignedAssertionsClaims(t *testing.T) {
	ec256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ec384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name string
		key  crypto.Signer
		alg  jose.SignatureAlgorithm
	}{
		{"P-256", ec256, jose.ES256},
		{"P-384", ec384, jose.ES384},
		{"RSA 2048", rsaKey, jose.RS256},
		{"Ed25519", edKey, jose.EdDSA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := fakeclock.New(exchangeT0)
			src, err := creds.SignedAssertions(tt.key, "key-1", "spiffe://example.org", testSubject,
				creds.WithClock(clk.Now), creds.WithAssertionTTL(90*time.Second))
			require.NoError(t, err)
			a1, err := src.Assertion(context.Background(), "https://as.example.com/oauth2/token")
			require.NoError(t, err)
			a2, err := src.Assertion(context.Background(), "https://as.example.com/oauth2/token")
			require.NoError(t, err)

			tok, err := jwt.ParseSigned(a1, []jose.SignatureAlgorithm{tt.alg})
			require.NoError(t, err)
			require.Equal(t, "key-1", tok.Headers[0].KeyID)
			require.Equal(t, "JWT", tok.Headers[0].ExtraHeaders[jose.HeaderType])
			var c jwt.Claims
			require.NoError(t, tok.Claims(tt.key.Public(), &c))
			require.NoError(t, c.ValidateWithLeeway(jwt.Expected{
				Issuer: "spiffe://example.org", Subject: testSubject,
				AnyAudience: jwt.Audience{"https://as.example.com/oauth2/token"}, Time: exchangeT0,
			}, 0))
			require.Equal(t, exchangeT0, c.IssuedAt.Time().UTC())
			require.Equal(t, exchangeT0.Add(90*time.Second), c.Expiry.Time().UTC())
			require.NotEmpty(t, c.ID)

			var c2 jwt.Claims
			tok2, err := jwt.ParseSigned(a2, []jose.SignatureAlgorithm{tt.alg})
			require.NoError(t, err)
			require.NoError(t, tok2.Claims(tt.key.Public(), &c2))
			require.NotEqual(t, c.ID, c2.ID, "every assertion has its own jti")
		})
	}
}

func TestSignedAssertionsRefusesBadConfig(t *testing.T) {
	ec256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ec224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	require.NoError(t, err)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)

	tests := []struct {
		name    string
		key     crypto.Signer
		iss     string
		sub     string
		opts    []creds.AssertionOption
		wantErr string
	}{
		{"nil key", nil, "iss", "sub", nil, "signing key is required"},
		{"no issuer", ec256, "", "sub", nil, "issuer"},
		{"no subject", ec256, "iss", "", nil, "subject"},
		{"P-224", ec224, "iss", "sub", nil, "unsupported ECDSA curve"},
		{"RSA 1024", rsa1024, "iss", "sub", nil, "below 2048"},
		{"TTL too long", ec256, "iss", "sub", []creds.AssertionOption{creds.WithAssertionTTL(time.Hour)}, "TTL"},
		{"TTL too short", ec256, "iss", "sub", []creds.AssertionOption{creds.WithAssertionTTL(time.Millisecond)}, "TTL"},
		{"nil clock", ec256, "iss", "sub", []creds.AssertionOption{creds.WithClock(nil)}, "clock"},
		{"nil option", ec256, "iss", "sub", []creds.AssertionOption{nil}, "option 0 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := creds.SignedAssertions(tt.key, "kid", tt.iss, tt.sub, tt.opts...)
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, src)
		})
	}

	src, err := creds.SignedAssertions(ec256, "kid", "iss", "sub")
	require.NoError(t, err)
	_, err = src.Assertion(context.Background(), "")
	require.ErrorContains(t, err, "audience")
	require.NotContains(t, fmt.Sprintf("%#v %+v", src, src), "D:", "the key is never printed")
}

// fakeSVIDs returns a JWT-SVID for whatever audience it is asked for.
type fakeSVIDs struct {
	key    *ecdsa.PrivateKey
	err    error
	params []jwtsvid.Params
}

func (f *fakeSVIDs) FetchJWTSVID(_ context.Context, p jwtsvid.Params) (*jwtsvid.SVID, error) {
	f.params = append(f.params, p)
	if f.err != nil {
		return nil, f.err
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: f.key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, err
	}
	tok, err := jwt.Signed(s).Claims(jwt.Claims{
		Subject: testSubject, Audience: jwt.Audience{p.Audience},
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute)),
	}).Serialize()
	if err != nil {
		return nil, err
	}
	return jwtsvid.ParseInsecure(tok, []string{p.Audience})
}

func TestJWTSVIDAssertions(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	src := &fakeSVIDs{key: key}
	a, err := creds.JWTSVIDAssertions(src).Assertion(context.Background(), "https://as.example.com/token")
	require.NoError(t, err)
	require.Equal(t, []jwtsvid.Params{{Audience: "https://as.example.com/token"}}, src.params, "the AS is the single audience")
	svid, err := jwtsvid.ParseInsecure(a, []string{"https://as.example.com/token"})
	require.NoError(t, err)
	require.Equal(t, testSubject, svid.ID.String())

	_, err = creds.JWTSVIDAssertions(&fakeSVIDs{err: errors.New("no SVID")}).Assertion(context.Background(), "aud")
	require.ErrorContains(t, err, "creds: assertion: fetch JWT-SVID: no SVID")
	_, err = creds.JWTSVIDAssertions(nil).Assertion(context.Background(), "aud")
	require.ErrorContains(t, err, "no JWT-SVID source")
	_, err = creds.JWTSVIDAssertions(src).Assertion(context.Background(), "")
	require.ErrorContains(t, err, "audience is required")
}
