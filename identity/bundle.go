package identity

import (
	"fmt"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// GetX509BundleForTrustDomain returns the CA certificates that verify this
// source's X.509-SVIDs (go-spiffe's x509bundle.Source). It knows only its own
// trust domain. The bundle is a copy the caller may modify.
func (s *DevSource) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	st := s.st.Load()
	if st == nil {
		return nil, ErrClosed
	}
	if td != s.id.TrustDomain() {
		return nil, fmt.Errorf("identity: no x509 bundle for trust domain %q", td)
	}
	return st.x509Bundle.Clone(), nil
}

// GetJWTBundleForTrustDomain returns the public keys, by key ID, that verify
// this source's JWT-SVIDs (go-spiffe's jwtbundle.Source). It knows only its
// own trust domain. The bundle is a copy the caller may modify.
func (s *DevSource) GetJWTBundleForTrustDomain(td spiffeid.TrustDomain) (*jwtbundle.Bundle, error) {
	st := s.st.Load()
	if st == nil {
		return nil, ErrClosed
	}
	if td != s.id.TrustDomain() {
		return nil, fmt.Errorf("identity: no jwt bundle for trust domain %q", td)
	}
	return st.jwtBundle.Clone(), nil
}
