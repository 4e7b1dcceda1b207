package identity

import "github.com/spiffe/go-spiffe/v2/svid/x509svid"

// Source is the seam the guard consumes: the current X.509-SVID of this agent.
//
// It has the same method set as go-spiffe's x509svid.Source so that a
// workloadapi.X509Source (SPIRE) fits without an adapter. Implementations must
// never return an expired SVID; they return an error (such as [ErrExpired])
// instead, and the caller denies.
type Source interface {
	GetX509SVID() (*x509svid.SVID, error)
}
