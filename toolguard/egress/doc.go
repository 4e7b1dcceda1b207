// Package egress enforces a tool call's decision where the tool acts: on the
// HTTP requests it sends, the connections it dials and the files it opens.
// It is the tool's side of "egress limited to the decided destinations": the
// policy judged destinations derived from the call's arguments, and what the
// tool reaches through this package is held to them again at connect and
// open time, after DNS, redirects and symlinks have had their say.
//
// A guard (package toolguard) puts the decision's [Grant] in the context of
// the tool function it runs and ends it when the function returns. The tool
// passes that context on:
//
//	client := &http.Client{Transport: egress.Transport(nil)} // once, shared
//
//	func fetch(ctx context.Context, a FetchArgs) (string, error) {
//		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
//		...
//		resp, err := client.Do(req) // only to the hosts the decision granted
//		...
//		b, err := egress.ReadFile(ctx, a.Path) // only the authorized paths, through os.Root
//	}
//
// What it enforces:
//
//   - [Transport]: a request, and every redirect hop, goes only to a granted
//     host, compared in canonical form ([CanonicalHost]); a redirect keeps
//     the port the tool asked for (or the scheme's default) and never goes
//     from https to http; a Host header naming another site is refused.
//   - [Dialer] and [DialControl]: the address actually connected, after DNS,
//     is not loopback, private, link-local, unique-local, shared or otherwise
//     special-purpose unless the grant allows private addresses, nor ever a
//     cloud metadata or credential endpoint (169.254.169.254 and the others
//     platforms document), also when an IPv6 address carries it (IPv4-mapped,
//     NAT64, 6to4), unless the decision granted that very address. Transport
//     checks the connection each request gets, new or pooled, the same way.
//   - [OpenFile] and [ReadFile]: only the call's authorized paths, or what
//     lies below them, through os.Root at the root they were resolved under
//     ([ResolvePath]), with no symlink below the root, checked before the
//     open and again after it.
//
// Outside a guarded call, and once the call has returned, everything is
// refused: a goroutine or a context the tool leaves behind reaches nothing.
// Every refusal matches [ErrEgressDenied] with errors.Is, through the
// *url.Error of an http.Client and the *net.OpError of a dialer too; a
// failure of what the grant allowed (a missing file, a refused connection)
// does not.
//
// The canonicalizers, [CanonicalURL], [CanonicalHost] and [ResolvePath], are
// the ones the guard derives a call's destinations with, so the policy and
// these checks compare one spelling of every host and path.
//
// Transport(nil) pools its connections across calls, so one client serves
// every call; a grant is checked again on each connection reused. An idle
// connection keeps goroutines of net/http until it times out:
// [CloseIdleConnections] (or the client's own CloseIdleConnections) closes
// them, as a test that checks for leaked goroutines needs before it ends.
//
// The checks hold only for what goes through this package: a tool that
// builds its own client without [Transport], or opens files with package os,
// is not limited by it. It keeps honest code within the decision whatever
// the model made of the arguments; it is not a sandbox.
package egress
