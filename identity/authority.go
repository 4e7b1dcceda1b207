package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

const (
	// minAuthorityTTL is how long the dev CA and JWT key live at least ("a few
	// hours"): long enough that rotating them is rare, short enough that a
	// leaked dev CA soon stops mattering.
	minAuthorityTTL = 4 * time.Hour

	// backdate shifts NotBefore into the past so a peer whose clock is a little
	// behind ours still accepts a freshly minted certificate.
	backdate = 30 * time.Second
)

// authority is one generation of signing material for the trust domain: an
// X.509 CA and a separate JWT signing key. Keys are kept apart so that a JWT
// verifier never needs (or gets) the CA, as in SPIRE.
type authority struct {
	caCert   *x509.Certificate
	caKey    *ecdsa.PrivateKey
	jwtKey   *ecdsa.PrivateKey
	jwtKeyID string
	notAfter time.Time // the CA's NotAfter; nothing this authority signs outlives it
}

// authorityTTL keeps the CA well beyond one SVID lifetime, so a long SVID TTL
// does not force a CA rotation at every SVID rotation.
func authorityTTL(svidTTL time.Duration) time.Duration {
	return max(minAuthorityTTL, 4*svidTTL)
}

func newAuthority(td spiffeid.TrustDomain, now time.Time, ttl time.Duration) (*authority, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: generate ca key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"ztagent dev CA"}, CommonName: td.Name()},
		URIs:                  []*url.URL{td.ID().URL()},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(ttl),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("identity: create ca certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("identity: parse ca certificate: %w", err)
	}

	jwtKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: generate jwt key: %w", err)
	}
	kid, err := keyID(jwtKey.Public())
	if err != nil {
		return nil, err
	}
	return &authority{
		caCert:   caCert,
		caKey:    caKey,
		jwtKey:   jwtKey,
		jwtKeyID: kid,
		notAfter: caCert.NotAfter,
	}, nil
}

// keyID derives the JWT "kid" from the public key (RFC 7638 thumbprint), so
// it is stable for a key and distinct across keys without extra state.
func keyID(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("identity: jwt key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// randomSerial returns a random positive 128-bit serial number, as RFC 5280
// and the CA/B baseline ask (unpredictable, non-zero).
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("identity: serial number: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}
