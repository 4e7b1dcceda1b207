package toolguard

import (
	"context"
	"net"
	"net/http"
	"os"
	"syscall"

	"github.com/ztagent/ztagent/toolguard/egress"
)

// What a tool calls to stay within its grant moved to package egress. These
// forward to it, so code written against toolguard keeps working; the
// errors are egress's own, so errors.Is matches either name.

// Deprecated: use egress.ErrEgressDenied.
var ErrEgressDenied = egress.ErrEgressDenied

// Deprecated: use egress.Transport.
func Transport(base http.RoundTripper) http.RoundTripper { return egress.Transport(base) }

// Deprecated: use egress.Dialer.
func Dialer() *net.Dialer { return egress.Dialer() }

// Deprecated: use egress.DialControl.
func DialControl(ctx context.Context, network, address string, c syscall.RawConn) error {
	return egress.DialControl(ctx, network, address, c)
}

// Deprecated: use egress.OpenFile.
func OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (*os.File, error) {
	return egress.OpenFile(ctx, name, flag, perm)
}

// Deprecated: use egress.ReadFile.
func ReadFile(ctx context.Context, name string) ([]byte, error) { return egress.ReadFile(ctx, name) }

// Deprecated: use egress.AllowedHosts.
func AllowedHosts(ctx context.Context) (hosts []string, ok bool) { return egress.AllowedHosts(ctx) }
