package bundleserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"

	"github.com/ztagent/ztagent/authz"
	"github.com/ztagent/ztagent/authz/bundleserver"
)

// A control plane publishes the default policy with data that suspends an
// agent; every engine polling the server with LongPoll has it about one
// round trip later.
func Example() {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalECPrivateKey(k)
	key := bundleserver.SigningKey{PEM: string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), Algorithm: "ES256"}

	srv, err := bundleserver.New()
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	raw, err := bundleserver.Sign(bundleserver.Bundle{
		Modules: authz.DefaultPolicy(),
		Data:    []byte(`{"suspended": {"agents": ["spiffe://example.org/agent/support"]}}`),
	}, key)
	if err != nil {
		panic(err)
	}
	if _, err := srv.Publish(raw); err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /bundles/authz.tar.gz", srv) // engines: BundleConfig{Resource: "bundles/authz.tar.gz", LongPoll: …}
	fmt.Println("published; polls held:", srv.Waiting())
	// Output: published; polls held: 0
}
