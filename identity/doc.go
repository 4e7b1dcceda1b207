// Package identity answers "who is this agent?" with SPIFFE identities.
//
// An AI agent that calls tools is a workload, not a human proxy: every tool
// call it makes is attributed to a short-lived, verifiable SPIFFE identity
// (an X.509-SVID, or a JWT-SVID for an audience), never to a long-lived
// shared service account. This package provides that identity to the rest
// of ztagent through one small seam, [Source], which has the same method set
// as go-spiffe's x509svid.Source.
//
// # In production: the Workload API
//
// [FromWorkloadAPI] gets the agent's identity from the SPIFFE Workload API,
// as served by a SPIRE agent ($SPIFFE_ENDPOINT_SOCKET, or [WithAddr]):
//
//	src, err := identity.FromWorkloadAPI(ctx, identity.WithTrustDomain("example.org"))
//	if err != nil { ... } // no agent answered before ctx ended: the error says where it looked
//	defer src.Close()
//
// It blocks only until the first verified SVID or the end of ctx. Every
// update the agent pushes is checked before use: the SVID must be in the
// expected trust domain ([WithTrustDomain]) and must verify against the
// bundle that came with it; a failing update is counted
// ([WorkloadSource.Stats]) and nothing is cached from it. A bundle update that
// drops a trust domain stops trusting it. The current SVID is read from an
// atomic pointer, with no lock and no RPC. When the agent goes away, calls
// keep working until the cached SVID's NotAfter and then fail with
// [ErrExpired]; when it returns, the stream reconnects (every second or so,
// [WithRetryMax]) and calls recover without a restart. JWT-SVIDs are cached
// per audience and refreshed in the background at half their lifetime.
//
// go-spiffe's own workloadapi.X509Source also fits [Source], but it does
// not check expiry on read; the guard checks NotAfter itself as well.
//
// # In development: the dev CA
//
// For the embedded default and for tests, [DevSource] is an in-process,
// throwaway certificate authority. It mints X.509-SVIDs and ES256 JWT-SVIDs
// for spiffe://<trust-domain><path> with a short TTL, rotates the X.509-SVID
// in the background at half of its TTL, and serves the matching X.509 and JWT
// bundles, so go-spiffe's verifiers (x509svid.Verify,
// jwtsvid.ParseAndValidate) work against it unchanged:
//
//	src, err := identity.NewDevSource(ctx,
//		identity.WithTrustDomain("example.org"),
//		identity.WithWorkloadPath("/agent/support"),
//	)
//	if err != nil { ... }
//	defer src.Close()
//
//	svid, err := src.GetX509SVID() // identity.ErrExpired, never an expired SVID
//
// Safe defaults: trust domain "ztagent.dev", path "/agent/default", 5 minute
// SVIDs (10s to 24h allowed). An SVID whose NotAfter has passed (by the
// injectable clock, see [WithClock]) is never handed out; the caller gets
// [ErrExpired] and denies. After Close, and on the zero value, every method
// fails with [ErrClosed]. Private keys are never printed: DevSource's String
// and GoString show only the SPIFFE ID, and no error carries key material or
// tokens.
//
// DevSource is for development only: its CA key lives in process memory and
// is discarded on Close. It is not a substitute for SPIRE.
package identity
