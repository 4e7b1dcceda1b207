package egress

import (
	"net/netip"
)

// Address ranges a granted host name must not lead to unless the grant
// allows private addresses (a decision's egress.allow_private): the agent's
// own machine, its networks and the special-purpose ranges of the IANA
// registries. A name that resolves into them is the DNS rebinding and
// internal-SSRF case.
var privateRanges = prefixes(
	"0.0.0.0/8",       // "this network"; 0.0.0.0 reaches the local host
	"10.0.0.0/8",      // RFC 1918
	"100.64.0.0/10",   // shared address space (CGNAT), RFC 6598
	"127.0.0.0/8",     // loopback
	"169.254.0.0/16",  // link-local
	"172.16.0.0/12",   // RFC 1918
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // TEST-NET-1
	"192.88.99.0/24",  // 6to4 relay anycast
	"192.168.0.0/16",  // RFC 1918
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // TEST-NET-2
	"203.0.113.0/24",  // TEST-NET-3
	"224.0.0.0/4",     // multicast
	"240.0.0.0/4",     // reserved, and 255.255.255.255
	"::/128",          // unspecified
	"::1/128",         // loopback
	"64:ff9b:1::/48",  // local-use NAT64
	"100::/64",        // discard-only
	"2001::/32",       // Teredo: the IPv4 end is not checkable here
	"2001:db8::/32",   // documentation
	"fc00::/7",        // unique local
	"fe80::/10",       // link-local
	"fec0::/10",       // site-local (deprecated)
	"ff00::/8",        // multicast
)

// Cloud instance metadata and credential services hand out the host's or
// the workload's credentials, and user data that often holds more: the
// classic SSRF prize. They are refused even with allowPrivate, and even
// where the address is public (Azure's WireServer), unless the decision
// granted the address itself as a host. Each is named by the platform that
// documents it.
var metadataAddrs = map[netip.Addr]string{
	// The address most platforms share: AWS EC2, Google Cloud, Azure IMDS,
	// Oracle Cloud, OpenStack, IBM Cloud VPC, DigitalOcean, Hetzner,
	// Huawei Cloud, Akamai (Linode).
	netip.MustParseAddr("169.254.169.254"): "cloud metadata (AWS, GCP, Azure, OpenStack)",
	netip.MustParseAddr("fd00:ec2::254"):   "cloud metadata (AWS IPv6)",
	// AWS ECS: task role credentials and task metadata.
	netip.MustParseAddr("169.254.170.2"): "container credentials (AWS ECS)",
	// AWS EKS Pod Identity Agent, on every node.
	netip.MustParseAddr("169.254.170.23"): "pod credentials (AWS EKS Pod Identity)",
	netip.MustParseAddr("fd00:ec2::23"):   "pod credentials (AWS EKS Pod Identity, IPv6)",
	// Google Compute Engine, for IPv6 instances.
	netip.MustParseAddr("fd20:ce::254"): "cloud metadata (GCP IPv6)",
	// The GKE metadata server (Workload Identity) listens here, port 988,
	// on every node; network policies must allow it for pods to get
	// tokens.
	netip.MustParseAddr("169.254.169.252"): "pod credentials (GKE metadata server)",
	// Azure WireServer: a public address (no private range covers it) that
	// every Azure VM reaches; it serves the VM agent its goal state,
	// extension settings among it.
	netip.MustParseAddr("168.63.129.16"): "platform endpoint (Azure WireServer)",
	// Oracle Cloud Infrastructure IMDS over IPv6 (its own SDKs fall back
	// to it), and the metadata service of Oracle Cloud at Customer, the
	// legacy platform, inside the IETF protocol assignments range.
	netip.MustParseAddr("fd00:c1::a9fe:a9fe"): "cloud metadata (Oracle Cloud IPv6)",
	netip.MustParseAddr("192.0.0.192"):        "cloud metadata (Oracle Cloud at Customer)",
	// Alibaba Cloud ECS.
	netip.MustParseAddr("100.100.100.200"): "cloud metadata (Alibaba)",
	// Tencent Cloud CVM (metadata.tencentyun.com).
	netip.MustParseAddr("169.254.0.23"): "cloud metadata (Tencent Cloud)",
	// OpenStack Nova over IPv6 (since Victoria), which Akamai (Linode)
	// answers on too, and Akamai's own IPv6 metadata address.
	netip.MustParseAddr("fe80::a9fe:a9fe"):   "cloud metadata (OpenStack, Akamai IPv6)",
	netip.MustParseAddr("fd00:a9fe:a9fe::1"): "cloud metadata (Akamai Linode IPv6)",
	// Scaleway Instances: metadata and user data.
	netip.MustParseAddr("169.254.42.42"): "cloud metadata (Scaleway)",
	netip.MustParseAddr("fd00:42::42"):   "cloud metadata (Scaleway IPv6)",
}

var (
	ipv4Compatible = netip.MustParsePrefix("::/96")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	localNAT64     = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// localNAT64Embeddings are the IPv4 addresses a local-use NAT64 address
// carries under each prefix length RFC 6052 allows within 64:ff9b:1::/48
// (/48, /56, /64, /96): bits 64–71 are skipped, as the RFC reserves them.
func localNAT64Embeddings(a netip.Addr) [4]netip.Addr {
	b := a.As16()
	return [4]netip.Addr{
		netip.AddrFrom4([4]byte{b[6], b[7], b[9], b[10]}),
		netip.AddrFrom4([4]byte{b[7], b[9], b[10], b[11]}),
		netip.AddrFrom4([4]byte{b[9], b[10], b[11], b[12]}),
		netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}),
	}
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// embeddedIPv4 returns the IPv4 address an IPv6 address carries and would
// reach through a translator or tunnel: IPv4-mapped, IPv4-compatible
// (::127.0.0.1), NAT64 (64:ff9b::/96) and 6to4 (2002:AABB:CCDD::/48).
func embeddedIPv4(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	if a.Is4In6() {
		return a.Unmap(), true
	}
	b := a.As16()
	switch {
	case ipv4Compatible.Contains(a) && a != netip.IPv6Unspecified() && a != netip.IPv6Loopback():
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case nat64.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// addrClass says why an address is not public: "" for a public address.
// metadata reports a cloud metadata endpoint.
func addrClass(a netip.Addr) (class string, metadata bool) {
	a = a.WithZone("")
	if v4, ok := embeddedIPv4(a); ok {
		if c, m := addrClass(v4); c != "" {
			return c + " (embedded in " + a.String() + ")", m
		}
		a = v4
	}
	if why, ok := metadataAddrs[a]; ok {
		return why, true
	}
	if localNAT64.Contains(a) {
		// The translator's prefix length is its own, so the IPv4 address
		// could sit at any of RFC 6052's places for a /48 or longer: a
		// metadata endpoint at any of them is refused as one.
		for _, v4 := range localNAT64Embeddings(a) {
			if why, ok := metadataAddrs[v4]; ok {
				return why + " (embedded in " + a.String() + ")", true
			}
		}
	}
	switch {
	case a.IsLoopback():
		return "loopback", false
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local", false
	case a.IsPrivate():
		return "private", false
	case a.IsUnspecified():
		return "unspecified", false
	}
	for _, p := range privateRanges {
		if p.Contains(a) {
			return "special-purpose " + p.String(), false
		}
	}
	return "", false
}

// checkAddr decides whether a connection to a may be made under the grant.
// An address the decision granted literally (as a host) is allowed: the
// policy judged that very address. Otherwise a public address is allowed, a
// metadata endpoint never, and any other non-public address only with
// allowPrivate.
func (e *Grant) checkAddr(a netip.Addr) error {
	a = a.Unmap().WithZone("")
	if e.granted(a.String()) {
		return nil
	}
	class, metadata := addrClass(a)
	switch {
	case class == "":
		return nil
	case metadata:
		return refused("toolguard: egress to %s refused: %s", a, class)
	case e.allowPrivate:
		return nil
	default:
		return refused("toolguard: egress to %s refused: %s address, and the decision does not allow private addresses", a, class)
	}
}
