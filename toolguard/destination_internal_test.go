package toolguard

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/authz"
)

func TestCanonicalEmail(t *testing.T) {
	d, err := canonicalEmail("Bob <bob@Mail.Example.COM>")
	require.NoError(t, err)
	require.Equal(t, authz.Destination{Kind: "email", Host: "mail.example.com", Address: "bob@mail.example.com"}, d)
	for _, in := range []string{"o'brien+tag@example.com", "Ünal <ünal@bücher.example>", "a.b-c_d@example.com"} {
		_, err := canonicalEmail(in)
		require.NoError(t, err, in)
	}
	for _, in := range []string{
		"", "bob", "bob@", "bob@[127.0.0.1]", "bob@0x7f.1", "a@b@evil.example, c@example.com",
		// Addresses that mail parsers read two ways.
		`"evil@attacker.example"@example.com`, `"bob smith"@example.com`,
		"evil%attacker.example@example.com", "attacker.example!evil@example.com",
		`"bob@example.com" <evil@attacker.example>`, "=?utf-8?q?evil=40attacker.example?= <bob@example.com>",
		".bob@example.com", "bob.@example.com", "bo..b@example.com",
	} {
		_, err := canonicalEmail(in)
		require.Error(t, err, in)
	}
}

func TestArgvDestination(t *testing.T) {
	for in, flagged := range map[string]bool{
		"main": false, "file.txt": false, "a-b": false, "": false,
		"-x": true, "--output=/tmp/x": true, " \t-oProxyCommand=sh": true, "-": true,
		// Unicode white space, invisible characters and dashes a tool may
		// trim or normalize to an ASCII '-'.
		"\u00a0--output=/x": true, "\u3000-x": true, "\u200b--exec=sh": true, "\ufeff-x": true,
		"\uff0d-output": true, "\u2212x": true, "\u2010x": true, "\u2014x": true, "\u00a0": false,
		"a\u2212b": false, "\u200bmain": false,
	} {
		d, err := argvDestination(in)
		require.NoError(t, err)
		require.Equal(t, authz.Destination{Kind: "argv", Flagged: flagged}, d, "%q", in)
	}
	_, err := argvDestination("a\x00b")
	require.Error(t, err)
}

func TestDestinationsFieldShapes(t *testing.T) {
	decls := []Dest{URLArg("req.urls"), EmailArg("to")}
	d, err := derive(decls, map[string]any{
		"req": map[string]any{"urls": []any{"https://a.example/", "https://b.example/"}},
		"to":  "x@example.com",
	})
	require.NoError(t, err)
	require.Len(t, d.dests, 3)
	// A declared field must be there; an optional one may be left out.
	_, err = derive(decls, map[string]any{})
	require.ErrorContains(t, err, "argument req.urls is missing")
	optional := []Dest{URLArg("req.urls").Optional(), EmailArg("to").Optional()}
	for _, args := range []any{map[string]any{}, map[string]any{"req": nil, "to": nil}, map[string]any{"req": map[string]any{}}} {
		d, err = derive(optional, args)
		require.NoError(t, err, fmt.Sprint(args))
		require.NotNil(t, d.dests, "the policy sees [], not null")
		require.Empty(t, d.dests)
	}
	for _, args := range []any{
		map[string]any{"to": 42.0},
		map[string]any{"to": "x@example.com", "req": "https://a.example/"}, // present, but not an object
		map[string]any{"to": "x@example.com", "req": map[string]any{"urls": map[string]any{}}},
		map[string]any{"to": []any{"x@example.com", nil}, "req": map[string]any{"urls": []any{}}},
		map[string]any{"req": map[string]any{"urls": []any{"https://a.example/", 1.0}}},
		map[string]any{"to": "not an address"},
	} {
		_, err := derive(decls, args)
		require.Error(t, err, fmt.Sprint(args))
	}
}
