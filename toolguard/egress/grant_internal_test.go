package egress

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The granted-host memo gives what canonicalHost gives, on every call.
func TestHostMemo(t *testing.T) {
	var m hostMemo
	for range 2 {
		for _, h := range []string{"Docs.Example.com.", "0x7f.1", "[::1]", "bücher.example", "", "a%2eb", "exa mple.com"} {
			want, err := CanonicalHost(h)
			got, ok := m.canonical(h)
			require.Equal(t, err == nil, ok, h)
			require.Equal(t, want, got, h)
			var nilMemo *hostMemo
			got, ok = nilMemo.canonical(h)
			require.Equal(t, err == nil, ok, h)
			require.Equal(t, want, got, h)
		}
	}
}
