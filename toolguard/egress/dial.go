package egress

import (
	"context"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// Dialer returns a net.Dialer whose connections are checked by DialControl:
// within a guarded call, only to addresses the decision allows. Use it as
// the DialContext of your own http.Transport, or for other protocols.
func Dialer() *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, ControlContext: DialControl}
}

// DialControl is a net.Dialer ControlContext function. It runs after DNS,
// on the address about to be connected, so it sees what the socket will
// really reach: a loopback, private, link-local, unique-local or shared
// address — or a cloud metadata endpoint — is refused unless the decision
// of the call in ctx allows it, and every address is refused outside a
// guarded call or after it returned. It does not check host names (it never sees them): pair it
// with Transport, or check AllowedHosts yourself. Its refusals match
// ErrEgressDenied.
func DialControl(ctx context.Context, network, address string, _ syscall.RawConn) error {
	e, err := grantFrom(ctx)
	if err != nil {
		return refused("toolguard: dial %s refused: %w", address, err)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return refused("toolguard: dial %s refused: not an IP address and port", address)
	}
	return e.checkAddr(ap.Addr())
}
