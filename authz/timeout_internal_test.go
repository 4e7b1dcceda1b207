package authz

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The default deadline is part of the contract (doc.go, DefaultTimeout's
// comment): long enough that a busy host does not deny spuriously, short
// enough that a runaway policy does not hold a tool call. An engine built
// without WithTimeout gets it.
func TestDefaultTimeoutIs500ms(t *testing.T) {
	require.Equal(t, 500*time.Millisecond, DefaultTimeout)
	e, err := New(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	require.Equal(t, 500*time.Millisecond, e.timeout)

	e, err = New(t.Context(), WithTimeout(time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	require.Equal(t, time.Second, e.timeout, "WithTimeout replaces it")
}
