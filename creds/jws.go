package creds

import (
	"crypto/ed25519"
	"encoding/base64"

	"github.com/ztagent/ztagent/internal/jsonenc"
)

// compactSigner writes JWS compact serializations (RFC 7515 section 7.1)
// signed with one Ed25519 key ("alg":"EdDSA", RFC 8037). It exists because
// the minter signs on every call that cannot reuse a credential: go-jose's
// general-purpose signer spends as long again as the signature itself on
// reflection-heavy JSON and copies. The protected header never changes, so it
// is encoded once; a token is then one JSON encoding of the claims, one
// buffer and one signature. Tokens are verified by go-jose like any other
// (the tests check every minted token that way).
type compactSigner struct {
	key    ed25519.PrivateKey // never printed: the Minter formats without it
	header string             // base64url of the protected header, and the "."
}

func newCompactSigner(key ed25519.PrivateKey, kid, typ string) *compactSigner {
	// {"alg":"EdDSA","kid":…,"typ":…}, as jsonenc.Marshal of the three strings
	// would write it; appending cannot fail, so neither can this.
	h := []byte(`{"alg":"EdDSA","kid":`)
	h = jsonenc.AppendString(h, kid)
	h = append(h, `,"typ":`...)
	h = jsonenc.AppendString(h, typ)
	h = append(h, '}')
	return &compactSigner{key: key, header: base64.RawURLEncoding.EncodeToString(h) + "."}
}

// sign returns header.payload.signature for a JSON payload.
func (s *compactSigner) sign(payload []byte) string {
	enc := base64.RawURLEncoding
	n := len(s.header) + enc.EncodedLen(len(payload))
	buf := make([]byte, n, n+1+enc.EncodedLen(ed25519.SignatureSize))
	copy(buf, s.header)
	enc.Encode(buf[len(s.header):], payload)
	sig := ed25519.Sign(s.key, buf)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf)
}
