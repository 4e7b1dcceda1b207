package audit

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// Ids made up for calls that had none are unique and keep their
// documented shape.
func TestNewCallIDUniqueAndShaped(t *testing.T) {
	shape := regexp.MustCompile(`^ztagent_[0-9a-f]{16}$`)
	seen := make(map[string]bool)
	for range 10000 {
		id := newCallID()
		require.Regexp(t, shape, id)
		require.False(t, seen[id], "duplicate id %s", id)
		seen[id] = true
	}
}
