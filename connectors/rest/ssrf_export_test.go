package rest

import (
	"net/http"
	"net/netip"
)

// BlockedAddr exposes blockedAddr to the tests.
func BlockedAddr(a netip.Addr) bool { return blockedAddr(a) }

// GuardedTransportWith is GuardedTransport with another check, so that a test can
// allow one local server and refuse another.
func GuardedTransportWith(check func(netip.AddrPort) error) *http.Transport {
	return guardedTransport(check)
}

// CheckPublic exposes the check of GuardedTransport.
func CheckPublic(ap netip.AddrPort) error { return checkPublic(ap) }
