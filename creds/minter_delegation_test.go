package creds

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"
)

func TestDelegationActClaim(t *testing.T) {
	const agent = "spiffe://example.org/agent/support"
	tests := []struct {
		name       string
		delegation []string
		wantSub    string
		wantAct    string // JSON of the act claim, "" for none
		wantActors []string
	}{
		{name: "no delegation", wantSub: agent},
		{name: "for a user", delegation: []string{"user:alice@example.com"},
			wantSub: "user:alice@example.com", wantAct: `{"sub":"` + agent + `"}`,
			wantActors: []string{agent}},
		{name: "user via planner",
			delegation: []string{"user:alice@example.com", "spiffe://example.org/agent/planner"},
			wantSub:    "user:alice@example.com",
			wantAct:    `{"sub":"` + agent + `","act":{"sub":"spiffe://example.org/agent/planner"}}`,
			wantActors: []string{agent, "spiffe://example.org/agent/planner"}},
		{name: "three hops",
			delegation: []string{"user:alice", "spiffe://x/a", "spiffe://x/b"},
			wantSub:    "user:alice",
			wantAct:    `{"sub":"` + agent + `","act":{"sub":"spiffe://x/b","act":{"sub":"spiffe://x/a"}}}`,
			wantActors: []string{agent, "spiffe://x/b", "spiffe://x/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := newTestMinter(t, newFakeClock())
			r := testRequest()
			r.Subject, r.Delegation = agent, tt.delegation
			c, err := m.Issue(ctx, r)
			require.NoError(t, err)
			require.Equal(t, tt.wantSub, c.Subject)
			require.Equal(t, tt.wantActors, c.Actors)

			payload := decodePayload(t, c.Token())
			require.Equal(t, tt.wantSub, payload["sub"])
			if tt.wantAct == "" {
				require.NotContains(t, payload, "act")
			} else {
				got, err := json.Marshal(payload["act"])
				require.NoError(t, err)
				require.JSONEq(t, tt.wantAct, string(got))
			}

			claims, err := m.Verifier().Verify(ctx, c.Token(), r.Audience)
			require.NoError(t, err)
			require.Equal(t, tt.wantSub, claims.Subject)
			require.Equal(t, tt.wantActors, claims.Actors)
			require.Equal(t, agent, claims.Agent(), "the agent presenting the token")
		})
	}
}

func TestClaimsAgentNil(t *testing.T) {
	var c *Claims
	require.Empty(t, c.Agent())
	require.Equal(t, "s", (&Claims{Subject: "s"}).Agent())
}

func TestDelegationRequestValidation(t *testing.T) {
	m := newTestMinter(t, newFakeClock())
	for name, d := range map[string][]string{
		"empty entry": {"user:alice", ""},
		"bad utf8":    {"user:\xff"},
		"too deep":    strings.Split(strings.Repeat("x,", maxDelegation), ","), // maxDelegation+1 entries
	} {
		t.Run(name, func(t *testing.T) {
			r := testRequest()
			r.Delegation = d
			c, err := m.Issue(context.Background(), r)
			require.ErrorContains(t, err, "creds: request: delegation")
			require.Nil(t, c)
		})
	}
}

func TestVerifyRejectsBadActClaim(t *testing.T) {
	key := mustKey(t)
	deep := map[string]any{"sub": "a"}
	for range maxDelegation {
		deep = map[string]any{"sub": "a", "act": deep}
	}
	for name, act := range map[string]any{
		"act without sub": map[string]any{"iss": "x"},
		"nested no sub":   map[string]any{"sub": "a", "act": map[string]any{}},
		"act not object":  "spiffe://x/a",
		"too deep":        deep,
	} {
		t.Run(name, func(t *testing.T) {
			v, err := NewVerifier(key.Public().(ed25519.PublicKey), defaultIssuer, NoRevocationCheck(), WithClock(newFakeClock().Now))
			require.NoError(t, err)
			tok := forge(t, jose.EdDSA, key, "at+jwt", with(goodClaims(), "act", act))
			_, err = v.Verify(context.Background(), tok, "https://mail.example.com")
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
}

func decodePayload(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}
