package authz

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Bundle defaults.
const (
	DefaultBundleName      = "authz"
	DefaultBundleKeyID     = "global"
	DefaultBundleAlgorithm = "RS256"
	DefaultBundleMinDelay  = 10 * time.Second
	DefaultBundleMaxDelay  = 30 * time.Second
)

// minRSABits refuses keys that are too weak to sign what the engine enforces.
const minRSABits = 2048

// BundleConfig says where to fetch a signed OPA bundle and which key must
// have signed it. There is no unsigned mode: a bundle is activated only when
// OPA's verifier has checked its .signatures.json against PublicKey and
// every file in it against the signed digests.
type BundleConfig struct {
	// URL is the bundle service base URL, e.g. "https://bundles.example.com"
	// (http or https, no credentials in it).
	URL string
	// Resource is the path of the bundle under URL, e.g. "bundles/authz.tar.gz".
	Resource string
	// Name names the bundle in reports ("bundle:<name>@<etag>"). Default "authz".
	Name string
	// KeyID is the id the signature must be verified under; it is the key id
	// the bundle was signed with (opa build --signing-key ... and the "kid"
	// of the signature). Default "global".
	KeyID string
	// PublicKey is the PEM public key ("PUBLIC KEY", "RSA PUBLIC KEY" or a
	// "CERTIFICATE") that must have signed the bundle. Required.
	PublicKey string
	// Algorithm is the signature algorithm: RS256/384/512, PS256/384/512 or
	// ES256/384/512. Default "RS256". HMAC (HS*) is refused: a shared secret
	// is not a public key.
	Algorithm string
	// Scope, when set, must equal the scope claim of the signature.
	Scope string
	// MinDelay and MaxDelay bound the jittered wait between two polls of an
	// unchanged bundle (default 10s and 30s); failures are retried with an
	// exponential backoff capped at MaxDelay.
	MinDelay, MaxDelay time.Duration
	// LongPoll, when set, asks the server to hold each poll of an
	// unchanged bundle for up to this long and answer as soon as a new
	// one is published (OPA's long polling: "Prefer: wait=<seconds>"), so
	// a change — a suspension — reaches the engine in about one round
	// trip instead of MinDelay to MaxDelay. It is used once the server has
	// said it supports it (Content-Type
	// application/vnd.openpolicyagent.bundles, as package
	// authz/bundleserver sends); other servers are polled as without it.
	// Whole seconds, at least 1 s. A Client with a Timeout, or a transport
	// whose ResponseHeaderTimeout is shorter, would cut every held poll:
	// give it more than LongPoll.
	LongPoll time.Duration
	// Client, if set, makes the requests (for a custom transport: mTLS, a
	// proxy, auth headers). By default OPA's REST client builds its own.
	Client *http.Client
}

// WithBundle takes the policy and its data from a signed OPA bundle instead
// of WithModule/WithData/WithPolicyDir. New blocks until a bundle has been
// downloaded, verified and compiled, or until its ctx ends, so give New a
// ctx with a deadline; then the bundle is polled in the background until
// Engine.Close. A bundle that fails to download, verify or compile is
// reported (WithReloadHook, Engine.Stats, Engine.LastReloadError) and the
// last good policy keeps serving.
func WithBundle(cfg BundleConfig) Option {
	return optionFunc(func(c *config) { c.bundle = &cfg })
}

// bundleAlgorithms are the asymmetric algorithms OPA verifies bundles with,
// each with the key type it needs.
var bundleAlgorithms = map[string]string{
	"RS256": "RSA", "RS384": "RSA", "RS512": "RSA",
	"PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
	"ES256": "P-256", "ES384": "P-384", "ES512": "P-521",
}

// resolve fills in defaults and checks cfg, so that a misconfiguration is
// an error at New rather than a bundle that never verifies.
func (cfg BundleConfig) resolve() (BundleConfig, error) {
	if cfg.Name == "" {
		cfg.Name = DefaultBundleName
	}
	if cfg.KeyID == "" {
		cfg.KeyID = DefaultBundleKeyID
	}
	if cfg.Algorithm == "" {
		cfg.Algorithm = DefaultBundleAlgorithm
	}
	if cfg.MinDelay == 0 {
		cfg.MinDelay = DefaultBundleMinDelay
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = max(DefaultBundleMaxDelay, cfg.MinDelay)
	}
	cfg.Resource = strings.Trim(cfg.Resource, "/")
	if err := cfg.check(); err != nil {
		return cfg, fmt.Errorf("authz: bundle %q: %w", cfg.Name, err)
	}
	return cfg, nil
}

func (cfg BundleConfig) check() error {
	if err := checkServiceURL(cfg.URL); err != nil {
		return err
	}
	switch {
	case cfg.Resource == "":
		return errors.New("Resource is empty")
	case cfg.MinDelay < 0 || cfg.MaxDelay < 0:
		return fmt.Errorf("polling delays must be > 0, got %s and %s", cfg.MinDelay, cfg.MaxDelay)
	case cfg.MaxDelay < cfg.MinDelay:
		return fmt.Errorf("MaxDelay %s is shorter than MinDelay %s", cfg.MaxDelay, cfg.MinDelay)
	case cfg.LongPoll < 0 || cfg.LongPoll > 0 && (cfg.LongPoll < time.Second || cfg.LongPoll%time.Second != 0):
		return fmt.Errorf("LongPoll must be whole seconds, at least 1s, got %s", cfg.LongPoll)
	case cfg.LongPoll > 0 && cfg.Client != nil && cfg.Client.Timeout > 0 && cfg.Client.Timeout <= cfg.LongPoll:
		return fmt.Errorf("Client.Timeout %s would cut every long poll of LongPoll %s: make it longer", cfg.Client.Timeout, cfg.LongPoll)
	}
	return checkPublicKey(cfg.PublicKey, cfg.Algorithm)
}

// checkPublicKey parses the key the way OPA's verifier will, and refuses
// what would make every bundle fail to verify (or verify under the wrong
// kind of key) before anything is downloaded.
func checkPublicKey(pemText, alg string) error {
	want, ok := bundleAlgorithms[alg]
	switch {
	case strings.HasPrefix(alg, "HS"):
		return fmt.Errorf("algorithm %s: HMAC needs a shared secret, not a public key; sign bundles with RS*, PS* or ES*", alg)
	case !ok:
		return fmt.Errorf("unsupported algorithm %q (want RS256/384/512, PS256/384/512 or ES256/384/512)", alg)
	case strings.TrimSpace(pemText) == "":
		return errors.New("PublicKey is required: bundles are always verified")
	}
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return errors.New("PublicKey is not a PEM block")
	}
	var pub any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			pub = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return fmt.Errorf("PublicKey holds a %s: configure the public half; the private key belongs to the signer", block.Type)
		}
		return fmt.Errorf("PublicKey is a PEM %q block, not a public key", block.Type)
	}
	if err != nil {
		return fmt.Errorf("PublicKey: %w", err)
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if want != "RSA" {
			return fmt.Errorf("PublicKey is an RSA key but algorithm %s needs an ECDSA %s key", alg, want)
		}
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("PublicKey is a %d-bit RSA key; at least %d bits are required", k.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		if want == "RSA" {
			return fmt.Errorf("PublicKey is an ECDSA key but algorithm %s needs an RSA key", alg)
		}
		if k.Curve != curveFor(want) {
			return fmt.Errorf("PublicKey is on curve %s but algorithm %s needs %s", k.Curve.Params().Name, alg, want)
		}
	default:
		return fmt.Errorf("PublicKey is a %T, which algorithm %s cannot verify with", pub, alg)
	}
	return nil
}

func curveFor(name string) elliptic.Curve {
	switch name {
	case "P-256":
		return elliptic.P256()
	case "P-384":
		return elliptic.P384()
	default:
		return elliptic.P521()
	}
}
