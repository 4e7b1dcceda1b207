package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// storage is the policy and state behind zitadel's provider. It implements
// op.Storage, op.TokenExchangeStorage (the RFC 8693 grant) and
// op.TokenExchangeTokensVerifierStorage (subject and actor tokens from a
// third party: the agent's JWT-SVID issuer). Authorization-code, refresh and
// JWT-profile flows are refused: this server issues short-lived access tokens
// by token exchange and nothing else.
type storage struct {
	cfg storageConfig

	mu     sync.Mutex
	tokens map[string]*accessToken // by token id (the JWT's jti)
}

type storageConfig struct {
	client           *client
	clientSecret     string
	subjectKeys      oidc.KeySet
	subjectIssuer    string
	subjectAudiences []string
	audiences        []string
	ttl              time.Duration
	signing          *signingKey
}

type accessToken struct {
	id       string
	clientID string
	subject  string
	audience []string
	scopes   []string
	act      map[string]any
	issuedAt time.Time
	expires  time.Time
	revoked  bool
}

var (
	_ op.Storage                            = (*storage)(nil)
	_ op.TokenExchangeStorage               = (*storage)(nil)
	_ op.TokenExchangeTokensVerifierStorage = (*storage)(nil)
)

// maxTokens bounds memory: expired tokens are dropped as new ones are made,
// and past this many live ones the server refuses to issue more.
const maxTokens = 100_000

// subjectLeeway is the clock skew allowed on a subject token's iat and nbf.
const subjectLeeway = 30 * time.Second

// subjectTokenAlgs are the algorithms a subject or actor token may use:
// those of JWT-SVIDs and of ztagent's minter. Never HS*, never none.
var subjectTokenAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

func newStorage(cfg storageConfig) *storage {
	return &storage{cfg: cfg, tokens: make(map[string]*accessToken)}
}

var errUnsupported = errors.New("not supported by this server (token exchange only)")

// --- third-party tokens (op.TokenExchangeTokensVerifierStorage) ---

func (s *storage) VerifyExchangeSubjectToken(ctx context.Context, token string, tokenType oidc.TokenType) (string, string, map[string]any, error) {
	id, sub, claims, err := s.verifyThirdParty(ctx, token, tokenType)
	if err != nil {
		slog.Warn("oidcserver: subject_token refused", "reason", err)
	}
	return id, sub, claims, err
}

func (s *storage) VerifyExchangeActorToken(ctx context.Context, token string, tokenType oidc.TokenType) (string, string, map[string]any, error) {
	id, sub, claims, err := s.verifyThirdParty(ctx, token, tokenType)
	if err != nil {
		slog.Warn("oidcserver: actor_token refused", "reason", err)
	}
	return id, sub, claims, err
}

// verifyThirdParty checks a JWT from the trusted issuer with zitadel's
// verifier steps: signature (allowed algorithms, trusted keys), subject,
// issuer if configured, audience (this server), expiry and issued-at.
func (s *storage) verifyThirdParty(ctx context.Context, token string, tokenType oidc.TokenType) (string, string, map[string]any, error) {
	if tokenType != oidc.JWTTokenType && tokenType != oidc.AccessTokenType {
		return "", "", nil, fmt.Errorf("token type %q not accepted (want a JWT)", tokenType)
	}
	claims := new(oidc.AccessTokenClaims)
	payload, err := oidc.ParseToken(token, claims)
	if err != nil {
		return "", "", nil, err
	}
	if err := oidc.CheckSignature(ctx, token, payload, claims, subjectTokenAlgs, s.cfg.subjectKeys); err != nil {
		return "", "", nil, err
	}
	if err := oidc.CheckSubject(claims); err != nil {
		return "", "", nil, err
	}
	if s.cfg.subjectIssuer != "" {
		if err := oidc.CheckIssuerWithISSVerifier(claims, s.cfg.subjectIssuer, nil); err != nil {
			return "", "", nil, err
		}
	}
	if !slices.ContainsFunc(s.cfg.subjectAudiences, func(a string) bool { return slices.Contains(claims.Audience, a) }) {
		return "", "", nil, fmt.Errorf("%w: want one of %v, got %v", oidc.ErrAudience, s.cfg.subjectAudiences, []string(claims.Audience))
	}
	if err := oidc.CheckExpiration(claims, 0); err != nil {
		return "", "", nil, err
	}
	if err := oidc.CheckIssuedAt(claims, 0, subjectLeeway); err != nil {
		return "", "", nil, err
	}
	// zitadel's verifier steps have no nbf check (ID and access tokens
	// rarely carry one); an assertion may.
	if nbf := claims.NotBefore.AsTime(); !nbf.IsZero() && nbf.After(time.Now().Add(subjectLeeway)) {
		return "", "", nil, errors.New("token is not valid yet (nbf)")
	}
	all := maps.Clone(claims.Claims)
	if all == nil {
		all = map[string]any{}
	}
	id := claims.JWTID
	if id == "" {
		id = token
	}
	return id, claims.Subject, all, nil
}

// --- token exchange policy (op.TokenExchangeStorage) ---

func (s *storage) ValidateTokenExchangeRequest(_ context.Context, r op.TokenExchangeRequest) error {
	err := s.validateExchange(r)
	if err != nil {
		slog.Warn("oidcserver: token exchange refused", "client_id", r.GetClientID(), "subject", r.GetExchangeSubject(),
			"actor", r.GetExchangeActor(), "audience", r.GetAudience(), "scope", r.GetScopes(), "reason", err)
	}
	return err
}

func (s *storage) validateExchange(r op.TokenExchangeRequest) error {
	switch r.GetRequestedTokenType() {
	case "", oidc.AccessTokenType, oidc.JWTTokenType:
		// Issued as an access token (a JWT): zitadel issues nothing else
		// for the jwt type, and refresh tokens would outlive the call.
		r.SetRequestedTokenType(oidc.AccessTokenType)
	default:
		return oidc.ErrInvalidRequest().WithDescription("requested_token_type %s is not issued here", r.GetRequestedTokenType())
	}
	if len(r.GetResourses()) > 0 {
		return oidc.ErrInvalidTarget().WithDescription("resource is not supported; send audience")
	}
	aud := r.GetAudience()
	if len(aud) == 0 {
		return oidc.ErrInvalidTarget().WithDescription("audience is required")
	}
	for _, a := range aud {
		if !slices.Contains(s.cfg.audiences, a) {
			return oidc.ErrInvalidTarget().WithDescription("audience %q is not allowed", a)
		}
	}
	for _, sc := range r.GetScopes() {
		if !s.cfg.client.IsScopeAllowed(sc) {
			return oidc.ErrInvalidScope().WithDescription("scope %q is not allowed", sc)
		}
	}
	// RFC 8693 section 4.4: a subject token may name who may act for it.
	if mayAct, ok := r.GetExchangeSubjectTokenClaims()["may_act"].(map[string]any); ok && r.GetExchangeActor() != "" {
		if sub, _ := mayAct["sub"].(string); sub != r.GetExchangeActor() {
			return oidc.ErrAccessDenied().WithDescription("actor is not permitted by the subject token's may_act")
		}
	}
	return nil
}

func (s *storage) CreateTokenExchangeRequest(context.Context, op.TokenExchangeRequest) error {
	return nil
}

// GetPrivateClaimsFromTokenExchangeRequest adds scope and the RFC 8693 act
// claim: the actor token's subject is the current actor; prior actors are the
// subject token's own act chain, nested inside.
func (s *storage) GetPrivateClaimsFromTokenExchangeRequest(_ context.Context, r op.TokenExchangeRequest) (map[string]any, error) {
	claims := map[string]any{}
	if sc := r.GetScopes(); len(sc) > 0 {
		claims["scope"] = strings.Join(sc, " ")
	}
	if act := actClaim(r); act != nil {
		claims["act"] = act
	}
	return claims, nil
}

func actClaim(r op.TokenExchangeRequest) map[string]any {
	prior, _ := r.GetExchangeSubjectTokenClaims()["act"].(map[string]any)
	if r.GetExchangeActor() == "" {
		return prior
	}
	act := map[string]any{"sub": r.GetExchangeActor()}
	if prior != nil {
		act["act"] = prior
	}
	return act
}

func (s *storage) SetUserinfoFromTokenExchangeRequest(context.Context, *oidc.UserInfo, op.TokenExchangeRequest) error {
	return errUnsupported // id tokens are never requested: validateExchange refuses them
}

// --- tokens ---

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	r, ok := req.(op.TokenExchangeRequest)
	if !ok {
		return "", time.Time{}, errUnsupported
	}
	now := time.Now()
	t := &accessToken{
		id:       randomID(),
		clientID: r.GetClientID(),
		subject:  r.GetSubject(),
		audience: slices.Clone(r.GetAudience()),
		scopes:   slices.Clone(r.GetScopes()),
		act:      actClaim(r),
		issuedAt: now,
		expires:  now.Add(s.cfg.ttl),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, old := range s.tokens {
		if now.After(old.expires) {
			delete(s.tokens, id)
		}
	}
	if len(s.tokens) >= maxTokens {
		return "", time.Time{}, oidc.ErrServerError().WithDescription("too many live tokens")
	}
	s.tokens[t.id] = t
	slog.Info("oidcserver: token issued", "jti", t.id, "client_id", t.clientID, "subject", t.subject,
		"actor", r.GetExchangeActor(), "audience", t.audience, "scope", t.scopes, "expires", t.expires.Format(time.RFC3339))
	return t.id, t.expires, nil
}

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupported
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errUnsupported
}

// GetRefreshTokenInfo says "not a refresh token" for everything, so that
// revocation goes on to treat the token as an access token.
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// RevokeToken implements RFC 7009: an unknown, expired or already revoked
// token is not an error (section 2.2); another client's token is refused.
func (s *storage) RevokeToken(_ context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenOrID]
	if !ok {
		slog.Info("oidcserver: revoke of an unknown token (ok per RFC 7009)", "client_id", clientID)
		return nil
	}
	if t.clientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was issued to another client")
	}
	t.revoked = true
	slog.Info("oidcserver: token revoked", "jti", t.id, "client_id", clientID)
	return nil
}

// SetIntrospectionFromToken is reached only for a token whose signature,
// issuer and expiry zitadel verified; revocation and expiry are checked here.
// An error makes the response {"active": false}.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, _ string, _ string) error {
	t, ok := s.live(tokenID)
	if !ok {
		return errors.New("token not active")
	}
	resp.Scope = t.scopes
	resp.ClientID = t.clientID
	resp.TokenType = oidc.BearerToken
	resp.Expiration = oidc.FromTime(t.expires)
	resp.IssuedAt = oidc.FromTime(t.issuedAt)
	resp.NotBefore = oidc.FromTime(t.issuedAt)
	resp.Subject = t.subject
	resp.Audience = t.audience
	resp.JWTID = t.id
	resp.Issuer = op.IssuerFromContext(ctx)
	if t.act != nil {
		resp.Claims = map[string]any{"act": t.act}
	}
	return nil
}

func (s *storage) SetUserinfoFromToken(_ context.Context, u *oidc.UserInfo, tokenID, _ string, _ string) error {
	t, ok := s.live(tokenID)
	if !ok {
		return errors.New("token not active")
	}
	u.Subject = t.subject
	return nil
}

func (s *storage) live(id string) (accessToken, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[id]
	if !ok || t.revoked || !time.Now().Before(t.expires) {
		return accessToken{}, false
	}
	return *t, true
}

// --- clients ---

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.cfg.client.id {
		return nil, errors.New("unknown client")
	}
	return s.cfg.client, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.cfg.client.id))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.cfg.clientSecret))
	if idOK&secretOK != 1 {
		return errors.New("invalid client credentials")
	}
	return nil
}

// --- keys ---

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.cfg.signing, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.cfg.signing}}, nil
}

func (s *storage) Health(context.Context) error { return nil }

// --- flows this server does not offer ---

func (s *storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) SaveAuthCode(context.Context, string, string) error     { return errUnsupported }
func (s *storage) DeleteAuthRequest(context.Context, string) error        { return errUnsupported }
func (s *storage) TerminateSession(context.Context, string, string) error { return errUnsupported }
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupported
}
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil // deprecated by zitadel; must be a no-op
}
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// client is the one confidential client: client_secret_basic (zitadel's
// token-exchange endpoint reads credentials from the Authorization header),
// token-exchange grant, JWT access tokens.
type client struct {
	id     string
	scopes []string
}

var _ op.Client = (*client)(nil)

func newClient(id string, scopes []string) *client { return &client{id: id, scopes: scopes} }

func (c *client) GetID() string                        { return c.id }
func (c *client) RedirectURIs() []string               { return nil }
func (c *client) PostLogoutRedirectURIs() []string     { return nil }
func (c *client) ApplicationType() op.ApplicationType  { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod          { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType   { return nil }
func (c *client) LoginURL(string) string               { return "" }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration       { return 0 }
func (c *client) DevMode() bool                        { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) IsScopeAllowed(s string) bool         { return slices.Contains(c.scopes, s) }
func (c *client) GrantTypes() []oidc.GrantType         { return []oidc.GrantType{oidc.GrantTypeTokenExchange} }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
