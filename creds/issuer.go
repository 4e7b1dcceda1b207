package creds

import "context"

// Issuer is the seam the guard consumes: one credential per call, revoked when
// the call ends. Minter implements it in process; an STS-backed issuer can
// replace it.
type Issuer interface {
	Issue(ctx context.Context, r Request) (*Credential, error)
	Revoke(ctx context.Context, id string) error
}

// RevocationChecker answers whether a token id has been revoked. A Verifier
// consults it after every other check; an error makes Verify fail closed.
type RevocationChecker interface {
	Revoked(ctx context.Context, id string) (bool, error)
}

// NoRevocationCheck returns a RevocationChecker that reports every id as not
// revoked. Use it, by name, only where short TTLs alone are acceptable (for
// example a resource server that cannot reach the issuer).
func NoRevocationCheck() RevocationChecker { return noRevocation{} }

type noRevocation struct{}

func (noRevocation) Revoked(context.Context, string) (bool, error) { return false, nil }
