package audit

import "github.com/ztagent/ztagent/internal/digest"

// promptDigest identifies a prompt without recording it.
func promptDigest(s string) string { return digest.Of([]byte(s)) }
