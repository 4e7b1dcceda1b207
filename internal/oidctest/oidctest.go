// Package oidctest runs a real RFC 8693 token-exchange authorization server
// for tests: internal/tools/oidcserver, a small program on zitadel/oidc's
// OpenID Provider (pkg/op), built through internal/toolbuild and started on
// loopback with internal/proc, stopped by PID when the test ends.
//
// Ory Hydra, the server the jwt-bearer grant is tested against, does not
// implement RFC 8693 (ory/hydra#1218); this one does, with zitadel doing the
// protocol (client authentication, grant handling, token signing, RFC 7009
// revocation, RFC 7662 introspection) and our program only the policy.
package oidctest

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ztagent/ztagent/internal/proc"
	"github.com/ztagent/ztagent/internal/toolbuild"
)

// module is the tools module that holds the server's go.mod and main package.
const module = "internal/tools/oidcserver"

var httpClient = proc.NoKeepAliveClient()

// Config is the server's policy. Exactly one of SubjectKey and SubjectJWKSURL
// says whose subject (and actor) tokens are trusted.
type Config struct {
	ClientID, ClientSecret string // the one confidential client (client_secret_basic); defaults "ztagent", a random-looking constant

	SubjectKey       crypto.PublicKey // public key that signs trusted subject tokens (ECDSA, RSA or Ed25519)
	SubjectJWKSURL   string           // or: a JWKS URL with those keys (the agent's JWT-SVID bundle endpoint)
	SubjectIssuer    string           // required iss of subject tokens; empty: not checked
	SubjectAudiences []string         // audiences a subject token may carry; default the issuer and the token endpoint

	Audiences []string      // audiences the client may request; required
	Scopes    []string      // scopes the client may request
	TTL       time.Duration // access token lifetime; default 1m
}

// Server is a running oidcserver.
type Server struct {
	Issuer           string
	TokenURL         string
	RevocationURL    string
	IntrospectionURL string
	JWKSURL          string // keys of the access tokens it issues
	ClientID         string
	ClientSecret     string

	t    testing.TB
	proc *proc.Proc
}

// Start builds (once, cached) and starts the server and waits until it is
// ready. Skipped under -short, as every real-server test is.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	bin := toolbuild.Require(t, program)
	if cfg.ClientID == "" {
		cfg.ClientID = "ztagent"
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = "oidctest-client-secret-0123456789"
	}
	if cfg.TTL == 0 {
		cfg.TTL = time.Minute
	}
	dir := t.TempDir()
	args := []string{
		"-port", "0",
		"-url-file", filepath.Join(dir, "url"),
		"-client-id", cfg.ClientID,
		"-audiences", strings.Join(cfg.Audiences, ","),
		"-scopes", strings.Join(cfg.Scopes, ","),
		"-ttl", cfg.TTL.String(),
	}
	switch {
	case cfg.SubjectKey != nil:
		der, err := x509.MarshalPKIXPublicKey(cfg.SubjectKey)
		if err != nil {
			t.Fatalf("oidctest: subject key: %v", err)
		}
		keyFile := filepath.Join(dir, "subject.pem")
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-subject-key-pem", keyFile)
	case cfg.SubjectJWKSURL != "":
		args = append(args, "-subject-jwks-url", cfg.SubjectJWKSURL)
	default:
		t.Fatal("oidctest: Config needs SubjectKey or SubjectJWKSURL")
	}
	if cfg.SubjectIssuer != "" {
		args = append(args, "-subject-issuer", cfg.SubjectIssuer)
	}
	if len(cfg.SubjectAudiences) > 0 {
		args = append(args, "-subject-audience", strings.Join(cfg.SubjectAudiences, ","))
	}
	// The secret goes by environment, not argv, which other users can read.
	p := proc.Start(t, dir, "oidcserver", bin, args, "OIDCSERVER_CLIENT_SECRET="+cfg.ClientSecret)

	var issuer string
	err := p.WaitFor(30*time.Second, "oidcserver ready", func() error {
		if issuer == "" {
			b, err := os.ReadFile(filepath.Join(dir, "url"))
			if err != nil {
				return err
			}
			issuer = string(b)
		}
		return proc.GetOK(httpClient, issuer+"/ready")
	})
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	s := &Server{Issuer: issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, t: t, proc: p}
	s.discover()
	return s
}

// program is the test server; toolbuild's cache key covers its sources, so
// an edited server is rebuilt.
var program = toolbuild.Program{
	Module: module,
	Pkg:    "github.com/ztagent/ztagent/internal/tools/oidcserver",
	Name:   "oidcserver",
}

// discover reads the endpoints from the provider's discovery document, so the
// test uses what a client configured from metadata would.
func (s *Server) discover() {
	s.t.Helper()
	resp, err := httpClient.Get(s.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		s.t.Fatalf("oidctest: discovery: %v", err)
	}
	defer resp.Body.Close()
	var d struct {
		TokenEndpoint         string `json:"token_endpoint"`
		RevocationEndpoint    string `json:"revocation_endpoint"`
		IntrospectionEndpoint string `json:"introspection_endpoint"`
		JWKSURI               string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		s.t.Fatalf("oidctest: discovery: %v", err)
	}
	if d.TokenEndpoint == "" || d.RevocationEndpoint == "" || d.IntrospectionEndpoint == "" || d.JWKSURI == "" {
		s.t.Fatalf("oidctest: discovery document lacks endpoints: %+v", d)
	}
	s.TokenURL, s.RevocationURL, s.IntrospectionURL, s.JWKSURL = d.TokenEndpoint, d.RevocationEndpoint, d.IntrospectionEndpoint, d.JWKSURI
}

// Log is the server's log file (stderr), for assertions on what it refused.
func (s *Server) Log() string { return proc.TailFile(s.proc.Log, 1<<20) }

// Introspection is an RFC 7662 response.
type Introspection struct {
	Active    bool           `json:"active"`
	Scope     string         `json:"scope"`
	ClientID  string         `json:"client_id"`
	Subject   string         `json:"sub"`
	Audience  Audience       `json:"aud"`
	Issuer    string         `json:"iss"`
	JTI       string         `json:"jti"`
	ExpiresAt int64          `json:"exp"`
	IssuedAt  int64          `json:"iat"`
	Act       map[string]any `json:"act"`
}

// Audience is the "aud" member: a string or an array of strings.
type Audience []string

// UnmarshalJSON accepts both shapes of "aud".
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// Introspect asks the server about a token, authenticated as the client.
func (s *Server) Introspect(ctx context.Context, token string) (Introspection, error) {
	var out Introspection
	b, status, err := s.post(ctx, s.IntrospectionURL, url.Values{"token": {token}})
	if err != nil {
		return out, err
	}
	if status != http.StatusOK {
		return out, fmt.Errorf("oidctest: introspect: HTTP %d: %s", status, b)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, fmt.Errorf("oidctest: introspect: %w", err)
	}
	return out, nil
}

// Exchange makes a raw RFC 8693 token request (for tests of the server
// itself; the library's issuer is what the creds tests use). It returns
// the HTTP status and the JSON body.
func (s *Server) Exchange(ctx context.Context, form url.Values) (int, map[string]any, error) {
	if form.Get("grant_type") == "" {
		form.Set("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange")
	}
	b, status, err := s.post(ctx, s.TokenURL, form)
	if err != nil {
		return 0, nil, err
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		return status, nil, fmt.Errorf("oidctest: token response (HTTP %d) is not JSON: %w", status, err)
	}
	return status, body, nil
}

// Revoke revokes a token through RFC 7009 as the client.
func (s *Server) Revoke(ctx context.Context, token string) error {
	b, status, err := s.post(ctx, s.RevocationURL, url.Values{"token": {token}})
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("oidctest: revoke: HTTP %d: %s", status, b)
	}
	return nil
}

func (s *Server) post(ctx context.Context, endpoint string, form url.Values) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(s.ClientID), url.QueryEscape(s.ClientSecret))
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, err
	}
	return b, resp.StatusCode, nil
}

// PID is the server's process id.
func (s *Server) PID() int { return s.proc.PID() }
