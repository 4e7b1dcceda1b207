// Command oidcserver is a small OAuth 2.0 authorization server for tests: an
// RFC 8693 token-exchange STS built on zitadel/oidc's OpenID Provider
// (github.com/zitadel/oidc/v3/pkg/op). Hydra v2.3.0 does not implement RFC 8693
// (ory/hydra#1218), so ztagent's token-exchange issuer is tested against this.
//
// The protocol work — form parsing, client authentication, grant dispatch,
// token and error responses, RFC 7009 revocation, RFC 7662 introspection,
// JWT signing, JWKS and discovery — is zitadel's. Ours is the policy
// (storage.go): one confidential client, which subject tokens are trusted,
// which audiences and scopes may be issued, and for how long.
//
// It listens on 127.0.0.1 only, logs to stderr and never logs a token.
// With -url-file it writes its issuer URL there once it accepts connections,
// so a harness can pass -port 0 and never race for a free port.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

func main() {
	if err := run(); err != nil {
		slog.Error("oidcserver: fatal", "err", err)
		os.Exit(1)
	}
}

type flags struct {
	port             int
	urlFile          string
	clientID         string
	clientSecret     string
	subjectJWKSURL   string
	subjectKeyPEM    string
	subjectIssuer    string
	subjectAudiences string
	audiences        string
	scopes           string
	ttl              time.Duration
}

func parseFlags() (flags, error) {
	var f flags
	flag.IntVar(&f.port, "port", 0, "TCP port on 127.0.0.1 (0: any free port; see -url-file)")
	flag.StringVar(&f.urlFile, "url-file", "", "write the issuer URL to this file once listening")
	flag.StringVar(&f.clientID, "client-id", "", "the confidential client's id (required)")
	flag.StringVar(&f.clientSecret, "client-secret", "", "the client's secret (required; or env OIDCSERVER_CLIENT_SECRET)")
	flag.StringVar(&f.subjectJWKSURL, "subject-jwks-url", "", "JWKS URL whose keys sign trusted subject/actor tokens")
	flag.StringVar(&f.subjectKeyPEM, "subject-key-pem", "", "PEM file with the public key (PKIX) that signs trusted subject/actor tokens")
	flag.StringVar(&f.subjectIssuer, "subject-issuer", "", "required iss of subject/actor tokens (empty: not checked; JWT-SVIDs may have none)")
	flag.StringVar(&f.subjectAudiences, "subject-audience", "", "comma-separated audiences a subject token may carry (default: the issuer URL and the token endpoint URL)")
	flag.StringVar(&f.audiences, "audiences", "", "comma-separated audiences the client may request (required)")
	flag.StringVar(&f.scopes, "scopes", "", "comma-separated scopes the client may request")
	flag.DurationVar(&f.ttl, "ttl", time.Minute, "access token lifetime")
	flag.Parse()
	if f.clientSecret == "" {
		f.clientSecret = os.Getenv("OIDCSERVER_CLIENT_SECRET")
	}
	switch {
	case f.clientID == "" || f.clientSecret == "":
		return f, errors.New("-client-id and -client-secret are required")
	case (f.subjectJWKSURL == "") == (f.subjectKeyPEM == ""):
		return f, errors.New("exactly one of -subject-jwks-url and -subject-key-pem is required")
	case f.audiences == "":
		return f, errors.New("-audiences is required: a token for any audience is a token for every audience")
	case f.ttl <= 0:
		return f, errors.New("-ttl must be positive")
	}
	return f, nil
}

func run() error {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	f, err := parseFlags()
	if err != nil {
		return err
	}

	// Listen before building the provider: the issuer URL names the port.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(f.port)))
	if err != nil {
		return err
	}
	issuer := "http://" + ln.Addr().String()
	tokenURL := op.DefaultEndpoints.Token.Absolute(issuer)

	subjectKeys, err := subjectKeySet(f)
	if err != nil {
		return err
	}
	signing, err := newSigningKey()
	if err != nil {
		return err
	}
	subjectAud := splitList(f.subjectAudiences)
	if len(subjectAud) == 0 {
		subjectAud = []string{issuer, tokenURL}
	}
	st := newStorage(storageConfig{
		client:           newClient(f.clientID, splitList(f.scopes)),
		clientSecret:     f.clientSecret,
		subjectKeys:      subjectKeys,
		subjectIssuer:    f.subjectIssuer,
		subjectAudiences: subjectAud,
		audiences:        splitList(f.audiences),
		ttl:              f.ttl,
		signing:          signing,
	})

	var cryptoKey [32]byte // encrypts opaque tokens; unused for JWTs but required
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return err
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:       cryptoKey,
		SupportedScopes: splitList(f.scopes),
	}, st, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return fmt.Errorf("provider: %w", err)
	}

	srv := &http.Server{Handler: provider, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	slog.Info("oidcserver: listening", "issuer", issuer, "token_endpoint", tokenURL,
		"client_id", f.clientID, "audiences", f.audiences, "scopes", f.scopes, "ttl", f.ttl)
	if f.urlFile != "" {
		// Write then rename, so a reader never sees half a URL.
		tmp := f.urlFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(issuer), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, f.urlFile); err != nil {
			return err
		}
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-errc:
		return err
	case s := <-sig:
		slog.Info("oidcserver: stopping", "signal", s.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// subjectKeySet is what verifies subject and actor tokens: zitadel's remote
// JWKS key set (cached, refetched on an unknown kid), or one static key.
func subjectKeySet(f flags) (oidc.KeySet, error) {
	if f.subjectJWKSURL != "" {
		return rp.NewRemoteKeySet(&http.Client{Timeout: 10 * time.Second}, f.subjectJWKSURL), nil
	}
	b, err := os.ReadFile(f.subjectKeyPEM)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", f.subjectKeyPEM)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.subjectKeyPEM, err)
	}
	return staticKeySet{keys: []jose.JSONWebKey{{Key: pub, Use: oidc.KeyUseSignature}}}, nil
}

// staticKeySet verifies with fixed keys, through zitadel's key matching, so a
// token's alg must fit the key's type (no HS256-with-a-public-key confusion).
type staticKeySet struct{ keys []jose.JSONWebKey }

func (s staticKeySet) VerifySignature(_ context.Context, jws *jose.JSONWebSignature) ([]byte, error) {
	kid, alg := oidc.GetKeyIDAndAlg(jws)
	key, err := oidc.FindMatchingKey(kid, oidc.KeyUseSignature, alg, s.keys...)
	if err != nil {
		return nil, err
	}
	return jws.Verify(&key)
}

// signingKey signs the access tokens this server issues (ES256, kid random,
// in memory: tokens do not survive a restart, which suits a test server).
type signingKey struct {
	id  string
	key *ecdsa.PrivateKey
}

func newSigningKey() (*signingKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &signingKey{id: randomID(), key: k}, nil
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the JWKS entry for signingKey.
type publicKey struct{ *signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k publicKey) Use() string                        { return oidc.KeyUseSignature }
func (k publicKey) Key() any                           { return &k.key.PublicKey }

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
