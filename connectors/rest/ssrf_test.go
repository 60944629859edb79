package rest_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

func TestBlockedAddr(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.1.2.3", "::1", "0.0.0.0", "0.1.2.3", "::",
		"10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", "fd00::1", "fc00::1",
		"169.254.169.254", "::ffff:169.254.169.254", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"fe80::1", "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "::a9fe:a9fe", "2002:a9fe:a9fe::1", "2002:7f00:1::",
		"224.0.0.1", "ff02::1", "255.255.255.255", "240.0.0.1", "198.18.0.1", "192.0.2.1", "2001:db8::1", "2001:0:4136:e378::1",
	}
	public := []string{
		"93.184.215.14", "8.8.8.8", "1.1.1.1", "::ffff:8.8.8.8", "2606:4700:4700::1111", "2001:4860:4860::8888",
		"64:ff9b::808:808", "2002:808:808::1", "172.32.0.1", "100.128.0.1", "192.169.0.1",
	}
	for _, s := range blocked {
		if !rest.BlockedAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s is not blocked, want blocked", s)
		}
	}
	for _, s := range public {
		if rest.BlockedAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s is blocked, want allowed", s)
		}
	}
}

// TestGuardedTransport: with the guard, a call to a server on 127.0.0.1 (or a name
// that resolves to it) is refused before connecting, is not retried, and says why.
func TestGuardedTransport(t *testing.T) {
	var hits atomic.Int32
	srv := MustServer(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	c := fast()
	c.HTTPTransport = rest.GuardedTransport()
	for name, in := range map[string]map[string]any{
		"IP":             {"url": srv},
		"Localhost":      {"url": otherHost(srv)},
		"ConnectTimeout": {"url": srv, "connect_timeout": 5},
		"Retries":        {"url": srv, "retry_backoff": map[string]any{"deadline": 5}},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := CallErr(t, c, in)
			WantInputError(t, err, "refused to connect to", "127.0.0.1", "--block-private-networks")
			if tries, _ := out["log"].([]any); len(tries) != 1 {
				t.Errorf("log %v: want exactly one try (a refused address is not retried)", out["log"])
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the local server got %d requests, want 0", n)
	}

	// Without the guard (the embedded dev default) the same call works.
	MustCall(t, &rest.Connector{}, map[string]any{"url": srv})
}

// TestGuardedTransportRedirect: a redirect hop to a refused address is stopped at
// dial time, although the first request was allowed.
func TestGuardedTransportRedirect(t *testing.T) {
	var inside atomic.Int32
	internal := MustServer(t, func(w http.ResponseWriter, r *http.Request) { inside.Add(1) })
	front := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal+"/secret", http.StatusFound)
	})
	frontAddr := netip.MustParseAddrPort(strings.TrimPrefix(front, "http://"))
	c := &rest.Connector{HTTPTransport: rest.GuardedTransportWith(func(ap netip.AddrPort) error {
		if ap == frontAddr {
			return nil // stands for a public server
		}
		return rest.CheckPublic(ap)
	})}
	_, err := CallErr(t, c, map[string]any{"url": front + "/start?to=" + url.QueryEscape(internal)})
	WantInputError(t, err, "refused to connect to 127.0.0.1")
	if n := inside.Load(); n != 0 {
		t.Fatalf("the internal server got %d requests after the redirect, want 0", n)
	}
}
