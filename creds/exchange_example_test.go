package creds_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/ztagent/ztagent/creds"
)

// An agent trades a short-lived assertion for an access token at an OAuth
// 2.0 server that trusts its key (RFC 7523), and revokes it when the call
// ends (RFC 7009). The server here is a stand-in for Ory Hydra or an STS.
func ExampleNewExchangeIssuer() {
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"access_token":"opaque-token","token_type":"bearer","expires_in":60,"scope":"email:send"}`)
		}
	}))
	defer as.Close()

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assertions, err := creds.SignedAssertions(key, "agent-key-1", "spiffe://example.org", "spiffe://example.org/agent/support")
	if err != nil {
		panic(err)
	}
	issuer, err := creds.NewExchangeIssuer(creds.ExchangeConfig{
		Grant:         creds.GrantJWTBearer,
		TokenURL:      as.URL + "/oauth2/token",
		RevocationURL: as.URL + "/oauth2/revoke",
		ClientID:      "ztagent-agent",
		ClientSecret:  "client-secret",
		Assertion:     assertions,
		HTTPClient:    as.Client(),
	})
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	c, err := issuer.Issue(ctx, creds.Request{
		Subject:  "spiffe://example.org/agent/support",
		Audience: "https://mail.example.com",
		Scopes:   []string{"email:send"},
	})
	if err != nil {
		panic(err) // a failed issue means the tool does not run
	}
	fmt.Println(c.Audience, c.Scopes, c.TTL())
	fmt.Println(issuer.Revoke(ctx, c.ID))
	fmt.Printf("%+v\n", issuer.Stats())
	// Output:
	// https://mail.example.com [email:send] 1m0s
	// <nil>
	// {Issued:1 Refused:0 Revoked:1 RevokeFailures:0}
}
