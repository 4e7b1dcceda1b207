package creds

import "errors"

// Sentinel errors returned (wrapped) by Verifier.Verify and Minter.Revoke.
// Match them with errors.Is; the wrapping message adds detail but never the
// token.
var (
	ErrMalformed = errors.New("creds: malformed token")
	ErrSignature = errors.New("creds: bad signature")
	ErrAudience  = errors.New("creds: wrong audience")
	ErrExpired   = errors.New("creds: token expired")
	ErrRevoked   = errors.New("creds: token revoked")
	ErrIssuer    = errors.New("creds: wrong issuer")

	// ErrNotYetValid: iat (or nbf) lies in the future beyond the leeway. A
	// token from the future means a skewed or compromised issuer, so it is
	// refused rather than waited for.
	ErrNotYetValid = errors.New("creds: token not yet valid")

	// ErrUnknownID: Revoke was given an id this minter never issued, or one
	// it has already forgotten because the token expired long ago.
	ErrUnknownID = errors.New("creds: unknown credential id")
)
