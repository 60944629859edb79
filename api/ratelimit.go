package api

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/labstack/echo/v4"
)

// Failed attempts that need no credential to make (sign-ins, webhook calls with a
// wrong key) are limited per client address: maxFailures in failWindow.
const (
	maxFailures = 10
	failWindow  = time.Minute
	// maxTracked bounds the keys the limiter remembers, so that its memory stays
	// below about 5 MB (a key and ten times per entry) whatever unauthenticated
	// callers send. When it is full the key unused for longest is forgotten: an
	// attacker would need thousands of real addresses to reset one address's count,
	// and client secrets and webhook keys are 256-bit random values anyway.
	maxTracked = 10_000
)

// failKey is what failures are counted by: the client's address, and for webhook
// calls the webhook's (validated, at most 128 characters) name. It has a fixed size
// apart from the name, so that no caller-chosen string of any length is kept.
type failKey struct {
	addr    netip.Addr
	webhook string
	// account is the SHA-256 of a username of a failed password sign-in (counted
	// apart from addresses, and for unknown usernames too, so that a lock does not
	// tell which usernames exist).
	account [32]byte
}

// failureLimiter counts recent failures per key in an LRU of at most maxTracked
// keys. The zero value is ready to use.
type failureLimiter struct {
	mu     sync.Mutex
	recent *simplelru.LRU[failKey, []time.Time]
}

// limited reports whether k has had maxFailures failures in the last failWindow.
func (l *failureLimiter) limited(k failKey) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.window(k)) >= maxFailures
}

// retryAfter returns how long until k is no longer limited (0: it is not).
func (l *failureLimiter) retryAfter(k failKey) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.window(k)
	if len(w) < maxFailures {
		return 0
	}
	return max(time.Until(w[len(w)-maxFailures].Add(failWindow)), time.Second)
}

// fail records a failure for k.
func (l *failureLimiter) fail(k failKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recent == nil {
		l.recent, _ = simplelru.NewLRU[failKey, []time.Time](maxTracked, nil) // errors only for a size <= 0
	}
	times := append(l.window(k), time.Now())
	if len(times) > maxFailures {
		times = times[len(times)-maxFailures:]
	}
	l.recent.Add(k, times)
}

// window returns k's failures within failWindow, forgetting k when there are none.
// It does not count as a use of k for the LRU order. l.mu must be held.
func (l *failureLimiter) window(k failKey) []time.Time {
	if l.recent == nil {
		return nil
	}
	list, _ := l.recent.Peek(k)
	cut := time.Now().Add(-failWindow)
	i := 0
	for i < len(list) && list[i].Before(cut) {
		i++
	}
	if i == len(list) {
		l.recent.Remove(k)
		return nil
	}
	// A copy, so that appending never writes into a slice still stored.
	return append([]time.Time(nil), list[i:]...)
}

// tracked returns how many keys the limiter remembers (for tests).
func (l *failureLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.recent == nil {
		return 0
	}
	return l.recent.Len()
}

func (a *Auth) limited(k failKey) bool { return a.limiter(k).limited(k) }

func (a *Auth) fail(k failKey) { a.limiter(k).fail(k) }

func (a *Auth) retryAfter(k failKey) time.Duration { return a.limiter(k).retryAfter(k) }

// limiter returns the limiter of k: webhook calls and sign-ins are counted apart.
func (a *Auth) limiter(k failKey) *failureLimiter {
	if k.webhook != "" {
		return &a.hookFailures
	}
	if k.account != ([32]byte{}) {
		return &a.accountFailures
	}
	return &a.failures
}

// clientAddr returns the address failures are counted by: the socket's peer, or
// with trusted proxies the address they forwarded (see ipExtractor). An IPv6 client
// is counted by its /64, the smallest block a network hands to one subscriber.
func clientAddr(c echo.Context) netip.Addr {
	addr, err := netip.ParseAddr(c.RealIP())
	if err != nil {
		return netip.Addr{} // all unparseable addresses share one count
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		addr = netip.PrefixFrom(addr, 64).Masked().Addr()
	}
	return addr
}

// ParseTrustedProxies reads --trusted-proxies: addresses (10.0.0.7) or CIDR ranges
// (10.0.0.0/8, fd00::/8) of the reverse proxies allowed to name the client in
// X-Forwarded-For. Empty entries are skipped. It fails on an entry that is neither,
// saying so.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is neither an IP address nor a CIDR range; write them like 10.0.0.0/8,192.168.1.10", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ipExtractor returns how Echo's RealIP finds the client: the socket's peer address
// unless proxies are trusted; then the nearest address in X-Forwarded-For that is
// not a trusted proxy, reading from the socket's peer backwards, so that what a
// client writes into the header itself is never taken. X-Real-IP is never read.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	// Only the ranges given: not Echo's default trust of loopback and private networks.
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}
