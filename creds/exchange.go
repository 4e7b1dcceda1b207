package creds

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ztagent/ztagent/internal/digest"
)

// OAuth 2.0 grant types the ExchangeIssuer speaks.
const (
	GrantJWTBearer     = "urn:ietf:params:oauth:grant-type:jwt-bearer"     // RFC 7523
	GrantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange" // RFC 8693
)

// RFC 8693 token type identifiers.
const (
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

const (
	defaultExchangeMaxTTL      = 5 * time.Minute
	defaultExchangeOutstanding = 10000
	defaultExchangeHTTPTimeout = 30 * time.Second
	// refusedRevokeTimeout bounds the revocation of a token we refuse; it
	// runs even when the caller's context is already done, because the
	// token exists on the server either way.
	refusedRevokeTimeout = 10 * time.Second
)

// ErrTokenTooLong: the authorization server issued a token that lives longer
// than the request's TTL or the issuer's MaxTTL (or did not say how long it
// lives). The token is revoked at once and no credential is returned.
var ErrTokenTooLong = errors.New("creds: issued token outlives the allowed TTL")

// ClientAuth is how the client authenticates to the token and revocation
// endpoints.
type ClientAuth int

const (
	// ClientSecretBasic sends client_id and client_secret in an HTTP Basic
	// Authorization header (RFC 6749 §2.3.1; every server must support it).
	ClientSecretBasic ClientAuth = iota
	// ClientSecretPost sends them as form parameters.
	ClientSecretPost
)

// ExchangeConfig configures NewExchangeIssuer.
type ExchangeConfig struct {
	Grant         string // GrantJWTBearer or GrantTokenExchange
	TokenURL      string
	RevocationURL string // RFC 7009; required: a credential we cannot revoke is not one we issue

	// ClientID and ClientSecret authenticate this client to both endpoints,
	// as ClientAuth says (default client_secret_basic). ClientID is required.
	ClientID, ClientSecret string
	ClientAuth             ClientAuth

	// Assertion is the agent's proof: the jwt-bearer "assertion", or the
	// token-exchange "subject_token" (the "actor_token" of a delegated call).
	Assertion         AssertionSource
	AssertionAudience string // audience asked of Assertion; default TokenURL

	// HTTPClient makes both requests. Default: a client with a 30s timeout
	// that does not follow redirects (a redirected token request would carry
	// the client secret and the assertion somewhere we were not told of).
	HTTPClient *http.Client

	// MaxTTL caps every token (default 5m). The server decides a token's
	// lifetime; one that lives longer than MaxTTL, or than the request's TTL
	// when that is set, is revoked at once and refused (ErrTokenTooLong).
	MaxTTL time.Duration

	// MaxOutstanding bounds how many unexpired tokens are remembered for
	// Revoke (default 10000). When it is reached Issue fails: a token we
	// could not revoke is not one we hand out.
	MaxOutstanding int

	// Token exchange only.

	// SubjectTokenType is the type of the agent's assertion (default
	// urn:ietf:params:oauth:token-type:jwt).
	SubjectTokenType string

	// DelegatedSubjectToken supplies the subject_token of a delegated call
	// (Request.Delegation set): a token that names the original principal,
	// Delegation[0] — e.g. the user's access token the application holds —
	// and its RFC 8693 token type. The agent's assertion is then sent as
	// actor_token, and the server records the agent as the actor. Without
	// it, delegated requests are refused rather than issued as if the agent
	// acted for itself.
	DelegatedSubjectToken func(ctx context.Context, r Request) (token, tokenType string, err error)

	// SendAudience sends the request's audience as the "audience"
	// parameter with the jwt-bearer grant (Ory Hydra needs the client to be
	// allowed that audience). Token exchange always sends it: naming the
	// target is what that grant is for (RFC 8693 §2.1).
	SendAudience bool

	// Now is the clock (default time.Now); it stamps IssuedAt/ExpiresAt and
	// expires remembered tokens. WithClock, given to NewExchangeIssuer,
	// takes precedence.
	//
	// Deprecated: pass WithClock to NewExchangeIssuer, as to every other
	// component of the package.
	Now func() time.Time
}

// ExchangeOption configures NewExchangeIssuer beyond its ExchangeConfig.
// Sealed: WithClock is the one.
type ExchangeOption interface{ applyExchange(*exchangeOptions) }

type exchangeOptions struct {
	now    func() time.Time
	nowSet bool // WithClock was given: nil is then a mistake, not "default"
}

// ExchangeStats counts what an ExchangeIssuer did, so that no failure is
// silent.
type ExchangeStats struct {
	Issued         uint64 // credentials returned by Issue
	Refused        uint64 // tokens the server issued that Issue refused (too long-lived, wider scope, …)
	Revoked        uint64 // successful revocations (by Revoke or of refused tokens)
	RevokeFailures uint64 // revocation requests that failed (Revoke returned an error, or a refused token could not be revoked)
}

// ExchangeIssuer is an Issuer backed by an OAuth 2.0 authorization server:
// for each request it presents the agent's assertion (RFC 7523 jwt-bearer or
// RFC 8693 token exchange) and returns the access token the server issues for
// the request's scopes. Revoke uses RFC 7009 token revocation.
//
// The token request, client authentication, error parsing and token parsing
// are golang.org/x/oauth2's (clientcredentials with grant_type overridden);
// errors from the token endpoint wrap *oauth2.RetrieveError and an
// *ExchangeError. The issuer runs no goroutines and is safe for concurrent
// use.
//
// Credential.ID is the token's jti when the token is a JWT, else the
// "sha256:…" digest of the token. The token itself is kept, until it expires,
// only so that Revoke can send it to the revocation endpoint.
type ExchangeIssuer struct {
	cfg    ExchangeConfig
	client *http.Client
	now    func() time.Time

	mu          sync.Mutex
	outstanding map[idKey]exchangeEntry // keyed as the minter's ledger keys ids
	queue       forgetQueue

	issued, refused, revoked, revokeFailures atomic.Uint64
}

var _ Issuer = (*ExchangeIssuer)(nil)

// exchangeEntry is what Revoke needs of an issued token. It is forgotten at
// exp plus maxLeeway, like the minter's ledger entries: until then some
// verifier may still accept the token, so Revoke must still know its id.
type exchangeEntry struct {
	token string // "" once revoked
	exp   int64  // Unix nanoseconds
}

// NewExchangeIssuer validates cfg and opts and returns the issuer.
func NewExchangeIssuer(cfg ExchangeConfig, opts ...ExchangeOption) (*ExchangeIssuer, error) {
	var o exchangeOptions
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("creds: exchange: option %d is nil", i)
		}
		opt.applyExchange(&o)
	}
	if o.nowSet {
		if o.now == nil {
			return nil, errors.New("creds: exchange: clock must not be nil")
		}
		cfg.Now = o.now
	}
	switch cfg.Grant {
	case GrantJWTBearer, GrantTokenExchange:
	case "":
		return nil, errors.New("creds: exchange: grant is required")
	default:
		return nil, fmt.Errorf("creds: exchange: unsupported grant %q", cfg.Grant)
	}
	// Both requests carry the client secret.
	if err := checkEndpoint("token URL", cfg.TokenURL); err != nil {
		return nil, fmt.Errorf("creds: exchange: %w", err)
	}
	if err := checkEndpoint("revocation URL", cfg.RevocationURL); err != nil {
		return nil, fmt.Errorf("creds: exchange: %w", err)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("creds: exchange: client id is required")
	}
	if cfg.ClientAuth != ClientSecretBasic && cfg.ClientAuth != ClientSecretPost {
		return nil, fmt.Errorf("creds: exchange: unknown client auth %d", cfg.ClientAuth)
	}
	if cfg.Assertion == nil {
		return nil, errors.New("creds: exchange: assertion source is required")
	}
	if cfg.AssertionAudience == "" {
		cfg.AssertionAudience = cfg.TokenURL
	}
	switch {
	case cfg.MaxTTL == 0:
		cfg.MaxTTL = defaultExchangeMaxTTL
	case cfg.MaxTTL < time.Second:
		return nil, fmt.Errorf("creds: exchange: max TTL %s is below one second", cfg.MaxTTL)
	}
	switch {
	case cfg.MaxOutstanding == 0:
		cfg.MaxOutstanding = defaultExchangeOutstanding
	case cfg.MaxOutstanding < 0:
		return nil, fmt.Errorf("creds: exchange: max outstanding %d is negative", cfg.MaxOutstanding)
	}
	if cfg.SubjectTokenType == "" {
		cfg.SubjectTokenType = TokenTypeJWT
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{
			Timeout: defaultExchangeHTTPTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return &ExchangeIssuer{
		cfg: cfg, client: client, now: cfg.Now,
		outstanding: make(map[idKey]exchangeEntry),
	}, nil
}

// Issue presents a fresh assertion and returns the access token the server
// issues for r.Scopes (and, by configuration, r.Audience). A token that
// outlives min(r.TTL, MaxTTL), carries scopes that were not asked for, or is
// not a bearer token is revoked at once and refused.
func (x *ExchangeIssuer) Issue(ctx context.Context, r Request) (*Credential, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("creds: exchange: %w", err)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	params, err := x.params(ctx, r)
	if err != nil {
		return nil, err
	}
	cc := clientcredentials.Config{
		ClientID:       x.cfg.ClientID,
		ClientSecret:   x.cfg.ClientSecret,
		TokenURL:       x.cfg.TokenURL,
		Scopes:         r.Scopes,
		EndpointParams: params,
		// An explicit style: x/oauth2's auto-detection retries a failed
		// request with the other style, which would present the same
		// one-time assertion twice and hide the first error.
		AuthStyle: x.authStyle(),
	}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, x.client))
	if err != nil {
		return nil, tokenEndpointError(err)
	}
	c, err := x.accept(ctx, r, tok)
	if err != nil {
		x.refused.Add(1)
		if rerr := x.revokeRefused(ctx, tok.AccessToken); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return nil, err
	}
	x.issued.Add(1)
	return c, nil
}

// params builds the grant-specific token request parameters. scope is set
// by clientcredentials from Scopes.
func (x *ExchangeIssuer) params(ctx context.Context, r Request) (url.Values, error) {
	if len(r.Delegation) > 0 && (x.cfg.Grant != GrantTokenExchange || x.cfg.DelegatedSubjectToken == nil) {
		// Issuing the agent's own token would drop the principal it acts
		// for, and the resource server would see the agent acting alone.
		return nil, errors.New("creds: exchange: delegated request needs token exchange with DelegatedSubjectToken configured")
	}
	assertion, err := x.cfg.Assertion.Assertion(ctx, x.cfg.AssertionAudience)
	if err != nil {
		return nil, fmt.Errorf("creds: exchange: assertion: %w", err)
	}
	if assertion == "" {
		return nil, errors.New("creds: exchange: assertion source returned an empty assertion")
	}
	v := url.Values{"grant_type": {x.cfg.Grant}}
	switch x.cfg.Grant {
	case GrantJWTBearer:
		v.Set("assertion", assertion)
		if x.cfg.SendAudience {
			v.Set("audience", r.Audience)
		}
	case GrantTokenExchange:
		v.Set("audience", r.Audience)
		v.Set("requested_token_type", TokenTypeAccessToken)
		if len(r.Delegation) == 0 {
			v.Set("subject_token", assertion)
			v.Set("subject_token_type", x.cfg.SubjectTokenType)
			break
		}
		subject, subjectType, err := x.cfg.DelegatedSubjectToken(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("creds: exchange: delegated subject token: %w", err)
		}
		if subject == "" || subjectType == "" {
			return nil, errors.New("creds: exchange: delegated subject token or its type is empty")
		}
		v.Set("subject_token", subject)
		v.Set("subject_token_type", subjectType)
		v.Set("actor_token", assertion)
		v.Set("actor_token_type", x.cfg.SubjectTokenType)
	}
	return v, nil
}

func (x *ExchangeIssuer) authStyle() oauth2.AuthStyle {
	if x.cfg.ClientAuth == ClientSecretPost {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// accept checks the server's answer against the request and records the
// token for Revoke. Any error means the token must be revoked.
func (x *ExchangeIssuer) accept(ctx context.Context, r Request, tok *oauth2.Token) (*Credential, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("creds: exchange: %w", err)
	}
	if t := tok.TokenType; t != "" && !strings.EqualFold(t, "bearer") {
		return nil, fmt.Errorf("creds: exchange: server issued a %q token, not a bearer token", serverText(t))
	}
	if t := extraString(tok, "issued_token_type"); t != "" && t != TokenTypeAccessToken && t != TokenTypeJWT {
		return nil, fmt.Errorf("creds: exchange: server issued token type %q, not an access token", serverText(t))
	}
	granted := slices.Clone(r.Scopes)
	if s := extraString(tok, "scope"); s != "" {
		granted = strings.Fields(s)
		for _, g := range granted {
			if !slices.Contains(r.Scopes, g) {
				return nil, fmt.Errorf("creds: exchange: server granted scope %q that was not requested", serverText(g))
			}
		}
	}

	now := x.now()
	limit := x.cfg.MaxTTL
	if r.TTL > 0 {
		limit = min(limit, r.TTL)
	}
	jwtID, jwtExp, isJWT := peekJWT(tok.AccessToken)
	expiresIn, err := extraSeconds(tok)
	if err != nil {
		return nil, err
	}
	var ttl time.Duration
	switch {
	case expiresIn > 0:
		ttl = time.Duration(expiresIn) * time.Second
	case isJWT && !jwtExp.IsZero():
		ttl = jwtExp.Sub(now)
	default:
		return nil, fmt.Errorf("creds: exchange: server did not say when the token expires: %w", ErrTokenTooLong)
	}
	if ttl > limit {
		return nil, fmt.Errorf("creds: exchange: token lives %s, limit %s: %w", ttl, limit, ErrTokenTooLong)
	}
	// expires_in and exp may disagree; the token is good for as long as the
	// later of them, and clocks may differ by up to maxLeeway.
	if isJWT && !jwtExp.IsZero() && jwtExp.Sub(now) > limit+maxLeeway {
		return nil, fmt.Errorf("creds: exchange: token's exp is %s away, limit %s: %w", jwtExp.Sub(now).Round(time.Second), limit, ErrTokenTooLong)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("creds: exchange: server issued an already expired token: %w", ErrExpired)
	}
	id := jwtID
	if id == "" {
		id = digest.Of([]byte(tok.AccessToken))
	}
	exp := now.Add(ttl)
	if err := x.remember(id, tok.AccessToken, exp, now); err != nil {
		return nil, err
	}
	// Subject and Actors describe the request the same way the Minter's
	// credentials do (RFC 8693 §4.1); the token's own claims are the server's.
	token := tok.AccessToken
	return &Credential{
		ID: id, Audience: r.Audience, Scopes: granted, Subject: r.principal(),
		Actors:   actorsFor(r.Subject, r.Delegation),
		IssuedAt: now, ExpiresAt: exp, token: &token,
	}, nil
}

// extraString reads a string member of the token response. x/oauth2 turns
// form-encoded values that look numeric into numbers; they are turned back.
func extraString(tok *oauth2.Token, key string) string {
	switch v := tok.Extra(key).(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}

// extraSeconds reads expires_in from the raw response: x/oauth2's
// clientcredentials keeps only the absolute Expiry it computed with its own
// clock, and the issuer's clock is injectable. 0 means absent.
func extraSeconds(tok *oauth2.Token) (int64, error) {
	var f float64
	switch v := tok.Extra("expires_in").(type) {
	case nil:
		return 0, nil
	case float64:
		f = v
	case int64:
		f = float64(v)
	case json.Number:
		n, err := v.Float64()
		if err != nil {
			return 0, errors.New("creds: exchange: expires_in is not a number")
		}
		f = n
	case string:
		if v == "" {
			return 0, nil
		}
		return 0, errors.New("creds: exchange: expires_in is not a number")
	default:
		return 0, errors.New("creds: exchange: expires_in is not a number")
	}
	if f < 0 || f > 1<<31 {
		return 0, fmt.Errorf("creds: exchange: expires_in %v out of range", f)
	}
	return int64(f), nil
}

// peekJWT reads jti and exp from a JWT access token without verifying it:
// to the client the token is opaque, and these values only name it and
// bound how long it is kept. An unreadable token is treated as opaque.
func peekJWT(tok string) (id string, exp time.Time, ok bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", time.Time{}, false
	}
	var c struct {
		ID  any         `json:"jti"`
		Exp json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", time.Time{}, false
	}
	if s, isString := c.ID.(string); isString {
		id = s
	}
	if f, err := c.Exp.Float64(); err == nil && f > 0 && f < 1<<40 {
		exp = time.Unix(int64(f), 0)
	}
	return id, exp, true
}

// remember records id → token until the token expires (plus maxLeeway),
// pruning forgotten entries first.
func (x *ExchangeIssuer) remember(id, token string, exp, now time.Time) error {
	k := keyOf(id)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.pruneLocked(now)
	if _, dup := x.outstanding[k]; dup {
		return errors.New("creds: exchange: server reused a token id")
	}
	if len(x.outstanding) >= x.cfg.MaxOutstanding {
		return fmt.Errorf("creds: exchange: %d unexpired tokens outstanding, the configured maximum", len(x.outstanding))
	}
	x.outstanding[k] = exchangeEntry{token: token, exp: nanos(exp)}
	x.queue.push(forgetItem{at: nanos(exp.Add(maxLeeway)), key: k})
	return nil
}

// pruneLocked forgets tokens past expiry plus maxLeeway: they need no
// revocation, and their ids are no longer accepted anywhere.
func (x *ExchangeIssuer) pruneLocked(now time.Time) {
	x.queue.popUntil(now, func(k idKey) { delete(x.outstanding, k) })
}

// Revoke revokes the token with this id at the RFC 7009 endpoint. A failed
// request is an error and the token stays remembered, so the caller can
// retry; revoking twice, or revoking a token that has expired, is fine. An
// id this issuer never issued (or forgot after expiry) is ErrUnknownID.
func (x *ExchangeIssuer) Revoke(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("creds: revoke: %w", err)
	}
	if id == "" {
		return fmt.Errorf("creds: revoke: empty id: %w", ErrUnknownID)
	}
	k := keyOf(id)
	x.mu.Lock()
	now := x.now()
	x.pruneLocked(now)
	e, ok := x.outstanding[k]
	x.mu.Unlock()
	switch {
	case !ok:
		return fmt.Errorf("creds: revoke: %w", ErrUnknownID)
	case e.token == "" || nanos(now) >= e.exp: // revoked already, or expired
		return nil
	}
	if err := x.revokeToken(ctx, e.token); err != nil {
		x.revokeFailures.Add(1)
		return fmt.Errorf("creds: revoke %s: %w", id, err)
	}
	x.revoked.Add(1)
	x.mu.Lock()
	// Kept (without the secret) so a second Revoke succeeds. The entry was
	// copied out: clear it only if it is still this token's, not one
	// remembered under the same id after this one was forgotten.
	if cur, ok := x.outstanding[k]; ok && cur.token == e.token {
		cur.token = ""
		x.outstanding[k] = cur
	}
	x.mu.Unlock()
	return nil
}

// revokeRefused revokes a token Issue will not hand out. It runs detached
// from ctx's cancellation: the token exists whether or not the caller is
// still waiting.
func (x *ExchangeIssuer) revokeRefused(ctx context.Context, token string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refusedRevokeTimeout)
	defer cancel()
	if err := x.revokeToken(ctx, token); err != nil {
		x.revokeFailures.Add(1)
		return fmt.Errorf("creds: exchange: revoking the refused token failed, it stays valid until it expires: %w", err)
	}
	x.revoked.Add(1)
	return nil
}

// revokeToken is the RFC 7009 request. x/oauth2 has no revocation client;
// this is one form POST with the same client authentication as the token
// request.
func (x *ExchangeIssuer) revokeToken(ctx context.Context, token string) error {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	if x.cfg.ClientAuth == ClientSecretPost {
		form.Set("client_id", x.cfg.ClientID)
		if x.cfg.ClientSecret != "" {
			form.Set("client_secret", x.cfg.ClientSecret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, x.cfg.RevocationURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("revocation request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if x.cfg.ClientAuth == ClientSecretBasic {
		// RFC 6749 §2.3.1: form-encode before Basic, as x/oauth2 does.
		req.SetBasicAuth(url.QueryEscape(x.cfg.ClientID), url.QueryEscape(x.cfg.ClientSecret))
	}
	resp, err := x.client.Do(req)
	if err != nil {
		// *url.Error names the URL and the cause, never the form body.
		return fmt.Errorf("revocation endpoint: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var e struct {
		Code string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Code != "" {
		return fmt.Errorf("revocation endpoint: status %d, error %q", resp.StatusCode, serverText(e.Code))
	}
	return fmt.Errorf("revocation endpoint: status %d", resp.StatusCode)
}

// Stats returns the issuer's counters.
func (x *ExchangeIssuer) Stats() ExchangeStats {
	return ExchangeStats{
		Issued: x.issued.Load(), Refused: x.refused.Load(),
		Revoked: x.revoked.Load(), RevokeFailures: x.revokeFailures.Load(),
	}
}

// String names the issuer without its client secret.
func (x *ExchangeIssuer) String() string {
	return fmt.Sprintf("creds.ExchangeIssuer{grant=%s token_url=%s client_id=%s}", x.cfg.Grant, x.cfg.TokenURL, x.cfg.ClientID)
}

// Format keeps every fmt verb on String, so the secret and the remembered
// tokens cannot be printed.
func (x *ExchangeIssuer) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(x.String())) }

// ExchangeError is the authorization server's refusal of a token request
// (RFC 6749 §5.2). It unwraps to the *oauth2.RetrieveError, whose Error text
// may include the raw response body; this one does not.
type ExchangeError struct {
	StatusCode  int    // HTTP status, 0 if unknown
	Code        string // e.g. "invalid_grant", "invalid_scope", "invalid_client"
	Description string // error_description, truncated and stripped of control characters

	err error
}

func (e *ExchangeError) Error() string {
	s := fmt.Sprintf("creds: exchange: token endpoint refused (status %d)", e.StatusCode)
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

func (e *ExchangeError) Unwrap() error { return e.err }

func tokenEndpointError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &ExchangeError{Code: serverText(re.ErrorCode), Description: serverText(re.ErrorDescription), err: re}
		if re.Response != nil {
			e.StatusCode = re.Response.StatusCode
		}
		return e
	}
	// Transport errors (*url.Error) name the URL, not the form body.
	return fmt.Errorf("creds: exchange: token request: %w", err)
}

// serverText makes server-supplied text safe to put in an error: no control
// characters (no forged log lines) and bounded length.
func serverText(s string) string {
	const maxLen = 200
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > maxLen {
		s = string(r[:maxLen]) + "…"
	}
	return s
}
