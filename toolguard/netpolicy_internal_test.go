package toolguard

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// Credential and metadata endpoints are refused even when the decision
// allows private addresses, in every form that reaches them; only a
// decision that grants the address itself reaches one.
func TestMetadataEndpointsRefusedEvenWhenPrivateAllowed(t *testing.T) {
	private := &egress{allowPrivate: true}
	require.NoError(t, private.checkAddr(netip.MustParseAddr("10.0.0.1")), "private addresses are allowed here")
	require.ErrorIs(t, (&egress{}).checkAddr(netip.MustParseAddr("10.0.0.1")), ErrEgressDenied, "and only here")
	for a, what := range metadataAddrs {
		require.ErrorContains(t, private.checkAddr(a), what, a)
		require.ErrorIs(t, private.checkAddr(a), ErrEgressDenied, a)
		if a.Is4() {
			mapped := netip.AddrFrom16(a.As16())
			require.ErrorContains(t, private.checkAddr(mapped), what, "IPv4-mapped %s", mapped)
		}
		granted := &egress{hosts: []string{a.String()}}
		require.NoError(t, granted.checkAddr(a), "granted by address")
	}
	for _, a := range []string{"169.254.170.23", "fd00:ec2::23", "fd20:ce::254", "169.254.0.23", "169.254.169.254"} {
		_, metadata := addrClass(netip.MustParseAddr(a))
		require.True(t, metadata, a)
	}
}
