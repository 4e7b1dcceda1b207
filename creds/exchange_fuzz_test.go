package creds

import (
	"strings"
	"testing"
)

// FuzzPeekJWT: access tokens are server input; reading jti/exp from them
// must never panic, and an id only ever comes from a three-part token.
func FuzzPeekJWT(f *testing.F) {
	for _, s := range []string{
		"", "opaque", "a.b.c", "..", "eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4IiwiZXhwIjoxfQ.",
		"eyJhbGciOiJub25lIn0.eyJqdGkiOjEsImV4cCI6IngifQ.", "x.eyJleHAiOjFlMzAwfQ.y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		id, exp, ok := peekJWT(tok)
		if !ok && (id != "" || !exp.IsZero()) {
			t.Fatalf("not a JWT but id=%q exp=%v", id, exp)
		}
		if ok && strings.Count(tok, ".") != 2 {
			t.Fatalf("%q read as a JWT", tok)
		}
	})
}
