package rest

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// GuardedTransport returns a transport for Connector.HTTPTransport that refuses to
// connect to loopback, private, link-local (169.254.169.254, the cloud metadata
// service), unspecified (0.0.0.0), multicast and other reserved addresses, in IPv4,
// IPv6 and IPv4 embedded in IPv6 (::ffff:169.254.169.254, NAT64, 6to4), so that a flow
// cannot reach the server's own network (SSRF).
//
// The check runs in the dialer, after DNS resolution, on the address actually dialed:
// a name that resolves to a private address, DNS rebinding and every redirect hop are
// all caught, and a name with a public and a private address connects to the public
// one. A refused connection is an *InputError, which the connector does not retry.
// The transport uses no proxy: through a proxy the check would see the proxy's
// address, not the destination's, so an egress proxy must do its own filtering.
func GuardedTransport() *http.Transport {
	return guardedTransport(checkPublic)
}

// guardedTransport returns http.DefaultTransport's settings with a dialer that lets
// check refuse each address before connecting.
func guardedTransport(check func(netip.AddrPort) error) *http.Transport {
	d := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return &InputError{Inputs: []string{"url"}, Message: fmt.Sprintf("flowd refused to connect to %s: not an IP address and port", address)}
			}
			return check(ap)
		},
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = d.DialContext
	return t
}

// checkPublic refuses addresses that are not public unicast.
func checkPublic(ap netip.AddrPort) error {
	if !blockedAddr(ap.Addr()) {
		return nil
	}
	return &InputError{Inputs: []string{"url"}, Message: fmt.Sprintf(
		"flowd refused to connect to %s: it is a loopback, private, link-local or reserved address, and this server blocks private networks "+
			"(--block-private-networks) so that flows cannot reach its internal network; call a public address, or ask an administrator", ap.Addr().Unmap())}
}

// reservedPrefixes are blocked besides what netip.Addr's methods recognise (loopback,
// private, link-local, multicast, unspecified).
var reservedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, shared address space
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255
	netip.MustParsePrefix("2001::/32"),       // Teredo: hides an IPv4 address
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
	netip.MustParsePrefix("100::/64"),        // discard-only
}

var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")   // NAT64: IPv4 in the last 4 bytes
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64
	ipv4Compat = netip.MustParsePrefix("::/96")          // deprecated IPv4-compatible
	sixToFour  = netip.MustParsePrefix("2002::/16")      // 6to4: IPv4 in bytes 2-5
)

// blockedAddr reports whether a may not be connected to: not a public unicast
// address, also when it is IPv4 written inside IPv6.
func blockedAddr(a netip.Addr) bool {
	a = a.Unmap() // ::ffff:169.254.169.254 is 169.254.169.254
	if a.Is6() {
		b := a.As16()
		switch {
		case nat64.Contains(a), ipv4Compat.Contains(a) && !a.IsUnspecified() && !a.IsLoopback():
			return blockedAddr(netip.AddrFrom4([4]byte(b[12:16])))
		case nat64Local.Contains(a):
			return true
		case sixToFour.Contains(a):
			return blockedAddr(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() {
		return true
	}
	for _, p := range reservedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
