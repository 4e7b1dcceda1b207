package bundleserver

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPreferredWait(t *testing.T) {
	for h, want := range map[string]time.Duration{
		"":                                    0,
		"wait=30":                             30 * time.Second,
		"modes=snapshot,delta;wait=10":        10 * time.Second,
		" WAIT = 5 ; respond-async":           5 * time.Second,
		"wait=3600":                           time.Minute, // capped
		"wait=0":                              0,
		"wait=-1":                             0,
		"wait=1.5":                            0,
		"wait=99999999999999999999":           0,
		"wait":                                0,
		"return=minimal":                      0,
		strings.Repeat("a=b;", 20) + "wait=5": 0, // past maxPreferences
	} {
		require.Equal(t, want, preferredWait([]string{h}, time.Minute), "%q", h)
	}
	require.Equal(t, 7*time.Second, preferredWait([]string{"modes=snapshot", "wait=7"}, time.Minute), "several headers")
}

func TestMatches(t *testing.T) {
	require.True(t, matches([]string{`"a"`}, `"a"`))
	require.True(t, matches([]string{`"x", W/"a"`}, `"a"`))
	require.True(t, matches([]string{`*`}, `"a"`))
	require.False(t, matches([]string{`a`}, `"a"`), "an unquoted tag is another tag")
	require.False(t, matches(nil, `"a"`))
	require.False(t, matches([]string{strings.Repeat(`"x",`, 20) + `"a"`}, `"a"`), "past maxPreferences")
}

// FuzzPreferredWait: any header gives a wait between 0 and the cap, and
// matching never panics.
func FuzzPreferredWait(f *testing.F) {
	f.Add("modes=snapshot,delta;wait=30", `"a", W/"b"`)
	f.Add("wait=", "*")
	f.Fuzz(func(t *testing.T, prefer, inm string) {
		w := preferredWait([]string{prefer}, time.Minute)
		require.GreaterOrEqual(t, w, time.Duration(0))
		require.LessOrEqual(t, w, time.Minute)
		_ = matches([]string{inm}, `"a"`)
	})
}
