package egress

import (
	"errors"
	"net/netip"
	"strings"
)

// errNotIPv4 says a host that ends in a number is not a valid IPv4 address in
// any form; browsers refuse it, and so does the guard.
var errNotIPv4 = errors.New("host ends in a number but is not an IPv4 address")

// endsInNumber is the WHATWG URL "ends in a number" check: a host whose last
// label is all digits or a 0x-number is an IPv4 address to browsers, curl and
// inet_aton, never a DNS name. The guard must read it the same way, or the
// policy judges "0x7f.1" while the socket reaches 127.0.0.1.
func endsInNumber(host string) bool {
	if host == "" {
		return false
	}
	// The last label, ignoring one trailing dot (a fully qualified name).
	h := strings.TrimSuffix(host, ".")
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last != "" && strings.Trim(last, "0123456789") == "" {
		return true
	}
	_, ok := ipv4Number(last)
	return ok
}

// parseIPv4 parses every form the WHATWG URL standard (and inet_aton) accepts:
// one to four parts, each decimal, octal (leading 0) or hex (0x), the last
// part filling the remaining bytes — so 2130706433, 0x7f000001,
// 017700000001, 127.1 and 0x7f.0.0.1 are all 127.0.0.1.
func parseIPv4(host string) (netip.Addr, error) {
	parts := strings.Split(host, ".")
	if parts[len(parts)-1] == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 4 {
		return netip.Addr{}, errNotIPv4
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := ipv4Number(p)
		if !ok {
			return netip.Addr{}, errNotIPv4
		}
		nums[i] = n
	}
	last := nums[len(nums)-1]
	for _, n := range nums[:len(nums)-1] {
		if n > 255 {
			return netip.Addr{}, errNotIPv4
		}
	}
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, errNotIPv4
	}
	v := last
	for i, n := range nums[:len(nums)-1] {
		v += n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
}

// ipv4Number parses one part. Values above 2^32 are reported as not a
// number rather than wrapped: wrapping is how "4294967423.0.0.1" became
// 127.0.0.1 in more than one library.
func ipv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		base, s = 16, s[2:]
	case len(s) >= 2 && s[0] == '0':
		base, s = 8, s[1:]
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		var d uint64
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		n = n*base + d
		if n > 1<<32 {
			return 0, false
		}
	}
	return n, true
}
