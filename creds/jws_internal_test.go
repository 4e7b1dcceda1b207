package creds

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The protected header is written by hand; it is the JSON encoding/json
// would write, and any kid survives it.
func TestCompactSignerHeader(t *testing.T) {
	header := func(kid string) []byte {
		s := newCompactSigner(mustKey(t), kid, tokenType)
		require.True(t, strings.HasSuffix(s.header, "."))
		h, err := base64.RawURLEncoding.DecodeString(strings.TrimSuffix(s.header, "."))
		require.NoError(t, err)
		return h
	}
	m, err := NewMinter()
	require.NoError(t, err)
	want, err := json.Marshal(map[string]string{"alg": "EdDSA", "kid": m.KeyID(), "typ": tokenType})
	require.NoError(t, err)
	require.Equal(t, string(want), string(header(m.KeyID())))

	for _, kid := range []string{"", `a"b\c`, "line\nbreak", "\u2028", "\xff"} {
		var got map[string]string
		require.NoError(t, json.Unmarshal(header(kid), &got), "%q", kid)
		require.Equal(t, "EdDSA", got["alg"])
		require.Equal(t, tokenType, got["typ"])
		require.Equal(t, strings.ToValidUTF8(kid, "\uFFFD"), got["kid"])
	}
}
