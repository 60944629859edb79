package api

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestFailureLimiterBounded fills the limiter with far more keys than it keeps: it
// must stay at maxTracked keys and still limit the key that is being hammered.
func TestFailureLimiterBounded(t *testing.T) {
	var l failureLimiter
	hot := failKey{addr: netip.MustParseAddr("192.0.2.1")}
	for i := 0; i < maxFailures; i++ {
		l.fail(hot)
	}
	if !l.limited(hot) {
		t.Fatalf("%d failures: not limited", maxFailures)
	}
	for i := 0; i < 3*maxTracked; i++ {
		l.fail(failKey{addr: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), webhook: strings.Repeat("n", 128)})
		if i%1000 == 0 {
			l.fail(hot) // in use, so not the one forgotten
		}
	}
	if got := l.tracked(); got != maxTracked {
		t.Fatalf("tracked %d keys, want the cap %d", got, maxTracked)
	}
	if !l.limited(hot) {
		t.Fatal("the hammered key was forgotten")
	}
	if l.limited(failKey{addr: netip.MustParseAddr("192.0.2.2")}) {
		t.Fatal("an address without failures is limited")
	}
}

func TestParseTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
		err  bool
	}{
		{in: nil, want: "[]"},
		{in: []string{""}, want: "[]"},
		{in: []string{"10.0.0.0/8", " 192.168.1.10 "}, want: "[10.0.0.0/8 192.168.1.10/32]"},
		{in: []string{"10.1.2.3/8", "fd00::/8", "::1"}, want: "[10.0.0.0/8 fd00::/8 ::1/128]"},
		{in: []string{"::ffff:10.0.0.1"}, want: "[10.0.0.1/32]"},
		{in: []string{"proxy.example.com"}, err: true},
		{in: []string{"10.0.0.0/33"}, err: true},
	} {
		t.Run(strings.Join(tc.in, ","), func(t *testing.T) {
			got, err := ParseTrustedProxies(tc.in)
			if tc.err {
				if err == nil || !strings.Contains(err.Error(), "write them like") {
					t.Fatalf("got %v, %v; want an error saying what to write", got, err)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != tc.want {
				t.Fatalf("got %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}

// TestClientAddr checks whose address failures are counted by, with and without a
// trusted proxy, for headers a client can write.
func TestClientAddr(t *testing.T) {
	proxy := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		header  map[string]string
		want    string
	}{
		{name: "DirectIgnoresHeaders", peer: "203.0.113.9:5000", header: map[string]string{"X-Forwarded-For": "198.51.100.1", "X-Real-IP": "198.51.100.2"}, want: "203.0.113.9"},
		{name: "LoopbackIsNotTrustedByDefault", peer: "127.0.0.1:5000", header: map[string]string{"X-Forwarded-For": "198.51.100.1"}, want: "127.0.0.1"},
		{name: "TrustedProxyForwards", trusted: proxy, peer: "10.0.0.5:5000", header: map[string]string{"X-Forwarded-For": "198.51.100.1"}, want: "198.51.100.1"},
		{name: "ClientPrefixIsNotTaken", trusted: proxy, peer: "10.0.0.5:5000", header: map[string]string{"X-Forwarded-For": "1.2.3.4, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "ChainOfTrustedProxies", trusted: proxy, peer: "10.0.0.5:5000", header: map[string]string{"X-Forwarded-For": "198.51.100.1, 10.0.0.6"}, want: "198.51.100.1"},
		{name: "UntrustedPeerHeaderIgnored", trusted: proxy, peer: "203.0.113.9:5000", header: map[string]string{"X-Forwarded-For": "198.51.100.1"}, want: "203.0.113.9"},
		{name: "RealIPNeverRead", trusted: proxy, peer: "10.0.0.5:5000", header: map[string]string{"X-Real-IP": "198.51.100.2"}, want: "10.0.0.5"},
		{name: "GarbageFallsBackToPeer", trusted: proxy, peer: "10.0.0.5:5000", header: map[string]string{"X-Forwarded-For": strings.Repeat("x", 4096)}, want: "10.0.0.5"},
		{name: "IPv6CountedPer64", peer: "[2001:db8:1:2:3:4:5:6]:5000", want: "2001:db8:1:2::"},
		{name: "IPv4MappedIsIPv4", peer: "[::ffff:203.0.113.9]:5000", want: "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := echo.New()
			e.IPExtractor = ipExtractor(tc.trusted)
			req := httptest.NewRequest("POST", "/api/v1/auth/token", nil)
			req.RemoteAddr = tc.peer
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			if got := clientAddr(e.NewContext(req, httptest.NewRecorder())).String(); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestReplyHeaderPolicy(t *testing.T) {
	for _, h := range []string{"set-cookie", "access-control-allow-origin", "access-control-allow-credentials",
		"content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy", "clear-site-data",
		"strict-transport-security", "cross-origin-resource-policy", "x-flowd-execution-id", "refresh"} {
		if replyHeaderAllowed(h) {
			t.Errorf("a flow may set %s", h)
		}
	}
	for _, h := range []string{"content-type", "x-request-id", "location", "cache-control", "content-disposition"} {
		if !replyHeaderAllowed(h) {
			t.Errorf("a flow may not set %s", h)
		}
	}
	for _, ct := range []string{"text/javascript", "Application/JavaScript; charset=utf-8", "text/css", " text/javascript1.5",
		"text/html, text/javascript", "application/wasm"} {
		if replyContentType(ct) {
			t.Errorf("a flow may answer %q", ct)
		}
	}
	for _, ct := range []string{"text/html; charset=utf-8", "application/json", "text/csv", "image/png", "text/plain"} {
		if !replyContentType(ct) {
			t.Errorf("a flow may not answer %q", ct)
		}
	}
}
