package digest_test

import (
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/digest"
)

func TestDigest(t *testing.T) {
	require.Equal(t, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", digest.Of(nil))
	sum := sha256.Sum256([]byte("abc"))
	require.Equal(t, digest.Of([]byte("abc")), digest.Format(sum[:]))
	require.NotEqual(t, digest.Of([]byte("abc")), digest.Of([]byte("abd")))
}

// FormatWith fits short prefixes on the stack and spills longer ones.
func TestFormatWith(t *testing.T) {
	sum := []byte{0xab, 0xcd}
	require.Equal(t, "hmac-sha256:abcd", digest.FormatWith("hmac-sha256:", sum))
	long := "a-prefix-longer-than-sixteen-bytes:"
	full := sha256.Sum256(nil)
	require.Equal(t, long+digest.Of(nil)[len(digest.Prefix):], digest.FormatWith(long, full[:]))
}
