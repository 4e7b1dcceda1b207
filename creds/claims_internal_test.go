package creds

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"
)

// The claims the minter writes by hand are the document encoding/json
// writes for them.
func TestWireClaimsJSONMatchesEncodingJSON(t *testing.T) {
	iat, exp := jwt.NewNumericDate(time.Unix(1_800_000_000, 0)), jwt.NewNumericDate(time.Unix(1_800_000_060, 0))
	cases := []wireClaims{
		{},
		{Claims: jwt.Claims{Issuer: "urn:ztagent:minter", Subject: "spiffe://td/agent", Audience: jwt.Audience{"https://a.example"}, IssuedAt: iat, Expiry: exp, ID: "AAAAAAAAAAAAAAAAAAAAAA"},
			Scope: "docs:read docs:list", CallID: "call_1"},
		{Claims: jwt.Claims{Subject: "user:\"alice\"\n<&>\xff\u2028", Audience: jwt.Audience{"a", "b"}, NotBefore: iat},
			Act: actChain(actorsFor("spiffe://td/agent", []string{"user:alice", "spiffe://td/planner", "spiffe://td/router"}))},
		{Claims: jwt.Claims{Audience: jwt.Audience{}}, Act: &actClaim{}},
	}
	for i, c := range cases {
		want, err := json.Marshal(&c)
		require.NoError(t, err)
		var a, b any
		require.NoError(t, json.Unmarshal(want, &a))
		require.NoError(t, json.Unmarshal(c.appendJSON(nil), &b), "case %d: %s", i, c.appendJSON(nil))
		require.Equal(t, a, b, "case %d", i)
	}
}
