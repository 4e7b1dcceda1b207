package egress

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// metadataEndpoints is every endpoint metadataAddrs must hold, with the
// platform its refusal names. It is written out, not read from the map, so
// an endpoint dropped from the map fails the test.
var metadataEndpoints = []struct{ addr, platform string }{
	{"169.254.169.254", "AWS, GCP, Azure"},
	{"fd00:ec2::254", "AWS IPv6"},
	{"169.254.170.2", "AWS ECS"},
	{"169.254.170.23", "AWS EKS Pod Identity"},
	{"fd00:ec2::23", "AWS EKS Pod Identity, IPv6"},
	{"fd20:ce::254", "GCP IPv6"},
	{"169.254.169.252", "GKE metadata server"},
	{"168.63.129.16", "Azure WireServer"},
	{"fd00:c1::a9fe:a9fe", "Oracle Cloud IPv6"},
	{"192.0.0.192", "Oracle Cloud at Customer"},
	{"100.100.100.200", "Alibaba"},
	{"169.254.0.23", "Tencent"},
	{"fe80::a9fe:a9fe", "OpenStack, Akamai IPv6"},
	{"fd00:a9fe:a9fe::1", "Akamai Linode IPv6"},
	{"169.254.42.42", "Scaleway"},
	{"fd00:42::42", "Scaleway IPv6"},
}

// reachingForms are the other spellings of a that reach it: for IPv4, the
// IPv6 forms a translator or tunnel delivers to it (IPv4-mapped,
// IPv4-compatible, NAT64 and 6to4); for link-local IPv6, a zone.
func reachingForms(a netip.Addr) []netip.Addr {
	if a.Is6() {
		if a.IsLinkLocalUnicast() {
			return []netip.Addr{a.WithZone("eth0")}
		}
		return nil
	}
	v4 := a.As4()
	var compat, nat64, sixToFour [16]byte
	copy(compat[12:], v4[:])
	nat64 = netip.MustParseAddr("64:ff9b::").As16()
	copy(nat64[12:], v4[:])
	sixToFour[0], sixToFour[1], sixToFour[15] = 0x20, 0x02, 1
	copy(sixToFour[2:6], v4[:])
	return []netip.Addr{netip.AddrFrom16(a.As16()), netip.AddrFrom16(compat), netip.AddrFrom16(nat64), netip.AddrFrom16(sixToFour)}
}

// Credential and metadata endpoints are refused whether or not the
// decision allows private addresses, in every form that reaches them, and
// the refusal names the platform; only a decision that grants the address
// itself reaches one.
func TestMetadataEndpointsRefusedEvenWhenPrivateAllowed(t *testing.T) {
	require.Len(t, metadataAddrs, len(metadataEndpoints), "every endpoint of the map is tested here")
	closed, private := &Grant{}, &Grant{allowPrivate: true}
	require.NoError(t, private.checkAddr(netip.MustParseAddr("10.0.0.1")), "private addresses are allowed here")
	require.ErrorIs(t, closed.checkAddr(netip.MustParseAddr("10.0.0.1")), ErrEgressDenied, "and only here")
	for _, ep := range metadataEndpoints {
		t.Run(ep.addr, func(t *testing.T) {
			a := netip.MustParseAddr(ep.addr)
			require.Contains(t, metadataAddrs, a)
			for _, f := range append([]netip.Addr{a}, reachingForms(a)...) {
				class, metadata := addrClass(f)
				require.True(t, metadata, f)
				require.Contains(t, class, ep.platform, f)
				for _, e := range []*Grant{closed, private} {
					err := e.checkAddr(f)
					require.ErrorIs(t, err, ErrEgressDenied, f)
					require.ErrorContains(t, err, ep.platform, f)
				}
			}
			granted := &Grant{hosts: []string{a.String()}}
			require.NoError(t, granted.checkAddr(a), "granted by address")
		})
	}
}

// Through a local-use NAT64 translator (64:ff9b:1::/48) the IPv4 address
// may sit at any place RFC 6052 gives a /48 to /96 prefix: a metadata
// endpoint at any of them is refused even with allow_private, and other
// addresses there stay merely special-purpose.
func TestLocalNAT64EmbeddedMetadataIsRefused(t *testing.T) {
	private := &Grant{allowPrivate: true}
	for _, s := range []string{
		"64:ff9b:1:a9fe:a9:fe00::",   // /48: 169.254 | u | 169.254
		"64:ff9b:1:a9:fe:a9fe::",     // /56
		"64:ff9b:1:0:a9:fea9:fe00:0", // /64
		"64:ff9b:1::a9fe:a9fe",       // /96
		"64:ff9b:1:0:a8:3f81:1000:0", // /64: Azure's public WireServer
	} {
		a := netip.MustParseAddr(s)
		_, metadata := addrClass(a)
		require.True(t, metadata, s)
		require.ErrorIs(t, private.checkAddr(a), ErrEgressDenied, s)
	}
	ordinary := netip.MustParseAddr("64:ff9b:1::a00:1") // 10.0.0.1 at /96
	class, metadata := addrClass(ordinary)
	require.False(t, metadata)
	require.Contains(t, class, "64:ff9b:1::/48")
	require.NoError(t, private.checkAddr(ordinary))
}

// A public endpoint is refused as that one address: its neighbours stay
// public addresses, reached without allow_private.
func TestPublicMetadataEndpointIsExact(t *testing.T) {
	closed := &Grant{}
	for _, s := range []string{"168.63.129.15", "168.63.129.17", "::ffff:168.63.129.17"} {
		a := netip.MustParseAddr(s)
		class, metadata := addrClass(a)
		require.Empty(t, class, s)
		require.False(t, metadata, s)
		require.NoError(t, closed.checkAddr(a), s)
	}
}
