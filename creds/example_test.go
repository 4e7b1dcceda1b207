package creds_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ztagent/ztagent/creds"
)

// The per-call life cycle: mint a credential, verify it at the resource
// server, revoke it when the call ends — after which it no longer verifies.
func Example() {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) }

	m, err := creds.NewMinter(creds.WithClock(now))
	if err != nil {
		panic(err)
	}
	c, err := m.Issue(ctx, creds.Request{
		Subject:  "spiffe://example.org/agent/support",
		Audience: "https://mail.example.com",
		Scopes:   []string{"email:send"},
		TTL:      30 * time.Second,
		CallID:   "call_7",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("expires:", c.ExpiresAt.Format(time.RFC3339), "ttl:", c.TTL())

	v := m.Verifier() // what the mail server would run
	claims, err := v.Verify(ctx, c.Token(), "https://mail.example.com")
	if err != nil {
		panic(err)
	}
	fmt.Println("verified:", claims.Subject, claims.Scopes, claims.CallID)

	if err := m.Revoke(ctx, c.ID); err != nil {
		panic(err)
	}
	_, err = v.Verify(ctx, c.Token(), "https://mail.example.com")
	fmt.Println("after revoke:", errors.Is(err, creds.ErrRevoked))
	// Output:
	// expires: 2026-11-30T12:00:30Z ttl: 30s
	// verified: spiffe://example.org/agent/support [email:send] call_7
	// after revoke: true
}

// A credential is bound to one audience and a short lifetime.
func ExampleVerifier_Verify() {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }

	m, err := creds.NewMinter(creds.WithClock(clock))
	if err != nil {
		panic(err)
	}
	c, err := m.Issue(ctx, creds.Request{
		Subject:  "spiffe://example.org/agent/support",
		Audience: "https://mail.example.com",
	})
	if err != nil {
		panic(err)
	}
	v, err := creds.NewVerifier(m.PublicKey(), m.Issuer(), m, creds.WithClock(clock))
	if err != nil {
		panic(err)
	}

	_, err = v.Verify(ctx, c.Token(), "https://files.example.com")
	fmt.Println("other audience:", errors.Is(err, creds.ErrAudience))

	now = now.Add(c.TTL()) // the default TTL is 60s
	_, err = v.Verify(ctx, c.Token(), "https://mail.example.com")
	fmt.Println("after", c.TTL(), "expired:", errors.Is(err, creds.ErrExpired))
	// Output:
	// other audience: true
	// after 1m0s expired: true
}

// The guard puts the credential in ctx; the tool takes it from there and
// sends Token() to its audience. Printing or logging the credential shows its
// metadata, never the token.
func ExampleFromContext() {
	m, err := creds.NewMinter()
	if err != nil {
		panic(err)
	}
	c, err := m.Issue(context.Background(), creds.Request{
		Subject:  "spiffe://example.org/agent/support",
		Audience: "https://mail.example.com",
	})
	if err != nil {
		panic(err)
	}
	ctx := creds.NewContext(context.Background(), c)

	tool := func(ctx context.Context) {
		cred, ok := creds.FromContext(ctx)
		if !ok {
			fmt.Println("no credential: refuse to call out")
			return
		}
		header := "Bearer " + cred.Token()
		fmt.Println("audience:", cred.Audience)
		fmt.Println("header has token:", len(header) > len("Bearer "))
		fmt.Println("printing shows token:", strings.Contains(fmt.Sprintf("%+v", cred), cred.Token()))
	}
	tool(ctx)
	tool(context.Background())
	// Output:
	// audience: https://mail.example.com
	// header has token: true
	// printing shows token: false
	// no credential: refuse to call out
}
