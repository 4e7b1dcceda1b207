package creds

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzVerify: Verify never panics, and the only string it accepts is a token
// the key actually signed (here: the seed token itself).
func FuzzVerify(f *testing.F) {
	key := mustKey(f)
	clk := newFakeClock()
	m, err := NewMinter(WithSigningKey(key), WithClock(clk.Now))
	require.NoError(f, err)
	c, err := m.Issue(context.Background(), testRequest())
	require.NoError(f, err)
	v := m.Verifier()

	f.Add(c.Token())
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(`{"payload":"e30","signatures":[]}`)
	f.Add(c.Token() + ".")
	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Verify(context.Background(), token, "https://mail.example.com")
		if err != nil {
			require.Nil(t, claims)
			return
		}
		// go-jose tolerates some whitespace in compact input; anything it
		// accepts must carry the original signed claims.
		require.Equal(t, c.ID, claims.ID)
	})
}
