// Package bundleserver serves a signed OPA bundle to a fleet of engines
// (authz.WithBundle), holding each poll until the bundle changes, so that a
// change — a suspension, the kill switch of the default policy — reaches
// every guard in about one round trip.
//
// It speaks OPA's bundle protocol: ETags and If-None-Match, and long
// polling ("Prefer: wait=<seconds>" from the client, Content-Type
// application/vnd.openpolicyagent.bundles from the server). An engine
// whose BundleConfig.LongPoll is set keeps one poll held here and asks
// again as soon as it is answered; OPA agents configured with
// long_polling_timeout_seconds do the same.
//
// The server never signs and never verifies: Sign builds signed bundles
// where the signing key lives (a release pipeline, an operator's
// workstation), and every engine verifies each bundle against its own
// public key before using it. Publish only refuses what is not a signed
// snapshot bundle, so that a mistake is an error for the publisher rather
// than a bundle every guard rejects.
//
//	srv, err := bundleserver.New()
//	...
//	raw, err := bundleserver.Sign(bundleserver.Bundle{Modules: authz.DefaultPolicy(), Data: data},
//		bundleserver.SigningKey{PEM: privateKeyPEM})
//	...
//	_, err = srv.Publish(raw)
//	http.Handle("/bundles/authz.tar.gz", srv)
//
// Every held poll is an open connection: size the HTTP server's limits
// for the fleet, and Close the Server before shutting the HTTP server
// down, so that held polls are answered at once instead of at their wait.
package bundleserver
