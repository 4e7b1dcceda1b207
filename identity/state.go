package identity

import (
	"crypto"
	"crypto/x509"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
)

// state is an immutable snapshot of everything readers need. Rotate builds a
// new one and swaps the pointer, so readers never take a lock and never see a
// half-rotated source (an SVID whose CA is missing from the bundle).
type state struct {
	svid     *x509svid.SVID
	current  *authority
	previous *authority // the authority before the last CA rotation, or nil

	x509Bundle *x509bundle.Bundle
	jwtBundle  *jwtbundle.Bundle
}

// newState builds the bundles for the given authorities. The previous
// authority stays trusted until it expires, so SVIDs it signed keep verifying
// across a CA rotation.
func newState(td spiffeid.TrustDomain, svid *x509svid.SVID, current, previous *authority) *state {
	cas := []*x509.Certificate{current.caCert}
	keys := map[string]crypto.PublicKey{current.jwtKeyID: current.jwtKey.Public()}
	if previous != nil {
		cas = append(cas, previous.caCert)
		keys[previous.jwtKeyID] = previous.jwtKey.Public()
	}
	return &state{
		svid:       svid,
		current:    current,
		previous:   previous,
		x509Bundle: x509bundle.FromX509Authorities(td, cas),
		jwtBundle:  jwtbundle.FromJWTAuthorities(td, keys),
	}
}
