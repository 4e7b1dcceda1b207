package creds_test

import (
	"context"
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/creds"
)

// Minted tokens are plain JWS compact serializations: go-jose, which knows
// nothing of how they were written, parses and verifies them, and sees the
// header and claims the minter meant.
func TestMintedTokenIsStandardJWS(t *testing.T) {
	m, err := creds.NewMinter()
	require.NoError(t, err)
	c, err := m.Issue(context.Background(), creds.Request{
		Subject: "spiffe://ztagent.dev/agent/a", Audience: "https://docs.example.com",
		Scopes: []string{"docs:read", "docs:list"}, CallID: "call_1", Delegation: []string{"user:alice"},
	})
	require.NoError(t, err)

	jws, err := jose.ParseSignedCompact(c.Token(), []jose.SignatureAlgorithm{jose.EdDSA})
	require.NoError(t, err)
	require.Len(t, jws.Signatures, 1)
	h := jws.Signatures[0].Protected
	require.Equal(t, "EdDSA", h.Algorithm)
	require.Equal(t, m.KeyID(), h.KeyID)
	require.Equal(t, "at+jwt", h.ExtraHeaders[jose.HeaderType])

	payload, err := jws.Verify(m.PublicKey())
	require.NoError(t, err)
	var claims map[string]any
	require.NoError(t, json.Unmarshal(payload, &claims))
	require.Equal(t, "user:alice", claims["sub"])
	require.Equal(t, "https://docs.example.com", claims["aud"])
	require.Equal(t, "docs:read docs:list", claims["scope"])
	require.Equal(t, "call_1", claims["ztagent_call"])
	require.Equal(t, map[string]any{"sub": "spiffe://ztagent.dev/agent/a"}, claims["act"])
	require.Equal(t, c.ID, claims["jti"])
	require.EqualValues(t, c.ExpiresAt.Unix(), claims["exp"])

	// Any change to what was signed fails verification.
	tok := []byte(c.Token())
	// (Not the last character: its low bits are padding a lenient decoder ignores.)
	for _, i := range []int{0, len(tok) / 2, len(tok) - 10} {
		bad := append([]byte(nil), tok...)
		bad[i] ^= 0x01
		if p, err := jose.ParseSignedCompact(string(bad), []jose.SignatureAlgorithm{jose.EdDSA}); err == nil {
			_, err = p.Verify(m.PublicKey())
			require.Error(t, err, "byte %d flipped", i)
		}
	}
}
