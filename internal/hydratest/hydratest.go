// Package hydratest runs a real Ory Hydra for tests: built from the Go module
// proxy at the version pinned in internal/tools/hydra (with -tags sqlite),
// started with an in-memory SQLite database on loopback ports, and stopped by
// PID when the test ends. Helpers drive its admin API: OAuth 2.0 clients,
// RFC 7523 jwt-bearer trust relationships and RFC 7662 introspection.
package hydratest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ztagent/ztagent/internal/proc"
	"github.com/ztagent/ztagent/internal/toolbuild"
)

var program = toolbuild.Program{
	Module: "internal/tools/hydra",
	Pkg:    "github.com/ory/hydra/v2",
	Name:   "hydra",
	Tags:   "sqlite",
}

// AccessTokenTTL is the access-token lifetime the test Hydra issues: short,
// because the credentials under test are per-call, and a second under the
// minute that tests use as MaxTTL, because Hydra rounds exp to the nearest
// second while iat is truncated, so a "1m" token can read exp-iat = 61s.
const AccessTokenTTL = 59 * time.Second

// Hydra is one running server.
type Hydra struct {
	t      testing.TB
	proc   *proc.Proc
	public string // http://127.0.0.1:<port>, also the issuer
	admin  string
	client *http.Client
}

// Start builds (once, cached) and starts Hydra and waits until it is ready.
// Skipped under -short.
func Start(t testing.TB) *Hydra {
	t.Helper()
	bin := toolbuild.Require(t, program)
	dir := t.TempDir()
	h := &Hydra{
		t: t,
		// Its own transport, so its idle connections can be closed and
		// leak checks see no lingering goroutines.
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}},
	}
	// Registered before the process starts, so it also runs when starting
	// fails. Cleanups run last-registered first: this runs after the
	// process has stopped, and closes what its health checks left idle.
	t.Cleanup(h.client.CloseIdleConnections)
	h.proc = proc.StartRetrying(t, func() (*proc.Proc, error) { return h.start(t, dir, bin) })
	return h
}

// start runs Hydra on fresh ports and waits until both APIs are ready.
func (h *Hydra) start(t testing.TB, dir, bin string) (*proc.Proc, error) {
	publicPort, adminPort := proc.FreePort(t), proc.FreePort(t)
	h.public = "http://127.0.0.1:" + strconv.Itoa(publicPort)
	h.admin = "http://127.0.0.1:" + strconv.Itoa(adminPort)
	env := []string{
		"DSN=memory",
		"SECRETS_SYSTEM=ztagent-hydratest-system-secret-0123456789",
		"URLS_SELF_ISSUER=" + h.public,
		"URLS_SELF_PUBLIC=" + h.public,
		"SERVE_PUBLIC_HOST=127.0.0.1",
		"SERVE_PUBLIC_PORT=" + strconv.Itoa(publicPort),
		"SERVE_ADMIN_HOST=127.0.0.1",
		"SERVE_ADMIN_PORT=" + strconv.Itoa(adminPort),
		"TTL_ACCESS_TOKEN=" + AccessTokenTTL.String(),
		// JWT access tokens carry a jti, so credentials are named by it;
		// Hydra still records them, so revocation and introspection work.
		"STRATEGIES_ACCESS_TOKEN=jwt",
		"LOG_LEVEL=info",
		"LOG_LEAK_SENSITIVE_VALUES=false",
	}
	p := proc.Start(t, dir, "hydra", bin, []string{"serve", "all", "--dev"}, env...)
	err := p.WaitFor(2*time.Minute, "hydra ready", func() error {
		return proc.GetOK(h.client, h.admin+"/health/ready", h.public+"/health/ready")
	})
	return p, err
}

// Issuer is Hydra's issuer URL (its public URL).
func (h *Hydra) Issuer() string { return h.public }

// TokenURL is the public token endpoint; Hydra also requires it as the
// audience of jwt-bearer assertions.
func (h *Hydra) TokenURL() string { return h.public + "/oauth2/token" }

// RevocationURL is the public RFC 7009 endpoint.
func (h *Hydra) RevocationURL() string { return h.public + "/oauth2/revoke" }

// Client is an OAuth 2.0 client to create.
type Client struct {
	ID, Secret string
	GrantTypes []string // e.g. jwt-bearer
	Scopes     []string
	Audience   []string
	AuthMethod string // default client_secret_basic
}

// CreateClient creates c through the admin API.
func (h *Hydra) CreateClient(c Client) {
	h.t.Helper()
	if c.AuthMethod == "" {
		c.AuthMethod = "client_secret_basic"
	}
	body := map[string]any{
		"client_id":                  c.ID,
		"client_secret":              c.Secret,
		"grant_types":                c.GrantTypes,
		"response_types":             []string{"token"},
		"scope":                      strings.Join(c.Scopes, " "),
		"audience":                   c.Audience,
		"token_endpoint_auth_method": c.AuthMethod,
		"access_token_strategy":      "jwt",
	}
	h.adminJSON(http.MethodPost, "/admin/clients", body, http.StatusCreated)
}

// Trust is an RFC 7523 trust relationship: assertions from Issuer, signed by
// JWK's key, may obtain tokens for Subject (or any subject) with at most
// Scopes.
type Trust struct {
	Issuer          string
	Subject         string
	AllowAnySubject bool
	Scopes          []string
	JWK             any // the public key as a JWK (e.g. a go-jose JSONWebKey with KeyID and Algorithm)
	ExpiresAt       time.Time
}

// CreateTrust creates tr through the admin API.
func (h *Hydra) CreateTrust(tr Trust) {
	h.t.Helper()
	if tr.ExpiresAt.IsZero() {
		tr.ExpiresAt = time.Now().Add(time.Hour)
	}
	body := map[string]any{
		"issuer":            tr.Issuer,
		"subject":           tr.Subject,
		"allow_any_subject": tr.AllowAnySubject,
		"scope":             tr.Scopes,
		"jwk":               tr.JWK,
		"expires_at":        tr.ExpiresAt.UTC().Format(time.RFC3339),
	}
	h.adminJSON(http.MethodPost, "/admin/trust/grants/jwt-bearer/issuers", body, http.StatusCreated)
}

// Introspection is Hydra's RFC 7662 answer.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope"`
	ClientID  string   `json:"client_id"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	IssuedAt  int64    `json:"iat"`
	ExpiresAt int64    `json:"exp"`
	TokenUse  string   `json:"token_use"`
}

// Introspect asks the admin API about token.
func (h *Hydra) Introspect(token string) Introspection {
	h.t.Helper()
	resp, err := h.client.PostForm(h.admin+"/admin/oauth2/introspect", url.Values{"token": {token}})
	if err != nil {
		h.t.Fatalf("hydratest: introspect: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("hydratest: introspect: status %d: %s", resp.StatusCode, b)
	}
	var in Introspection
	if err := json.Unmarshal(b, &in); err != nil {
		h.t.Fatalf("hydratest: introspect: %v", err)
	}
	return in
}

func (h *Hydra) adminJSON(method, path string, body any, want int) {
	h.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, h.admin+path, bytes.NewReader(b))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("hydratest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.t.Fatalf("hydratest: %s %s: status %d: %s", method, path, resp.StatusCode, rb)
	}
}
