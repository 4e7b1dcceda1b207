// Package digest is the one "<algorithm>:<hex>" form used across ztagent:
// "sha256:" for prompt digests and policy revisions, keyed forms such as
// "hmac-sha256:" for arguments, redacted values and the audit chain, so every
// digest in a trace or a decision record reads, and compares, the same way.
package digest

import (
	"crypto/sha256"
	"encoding/hex"
)

// Prefix names the algorithm, so a future change of hash cannot be confused
// with the current one.
const Prefix = "sha256:"

// Of returns the digest of b.
func Of(b []byte) string {
	sum := sha256.Sum256(b)
	return Format(sum[:])
}

// Format renders a SHA-256 sum computed elsewhere (e.g. by a streaming hash).
func Format(sum []byte) string { return FormatWith(Prefix, sum) }

// FormatWith renders sum as prefix followed by its hex, for the other keyed
// forms ("hmac-sha256:<hex>"). A prefix of up to 16 bytes and a SHA-256 sum
// fit on the stack: one allocation, the string.
func FormatWith(prefix string, sum []byte) string {
	var buf [16 + 2*sha256.Size]byte
	b := buf[:0]
	if n := len(prefix) + hex.EncodedLen(len(sum)); n > len(buf) {
		b = make([]byte, 0, n)
	}
	b = append(b, prefix...)
	return string(hex.AppendEncode(b, sum))
}
