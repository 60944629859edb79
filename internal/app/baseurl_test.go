package app

import (
	"net"
	"testing"
)

// TestBaseURL: system.base_url is --public-url when set, else the listener's address
// with loopback for one that listens on every interface.
func TestBaseURL(t *testing.T) {
	listen := func(addr string) net.Listener {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen on %s: %v", addr, err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	if got := baseURL("https://flowd.example.com/", nil); got != "https://flowd.example.com" {
		t.Errorf("public URL: %q", got)
	}
	if got := baseURL("", nil); got != "" {
		t.Errorf("no listener: %q", got)
	}
	ln := listen("127.0.0.1:0")
	if got, want := baseURL("", ln), "http://"+ln.Addr().String(); got != want {
		t.Errorf("loopback: %q, want %q", got, want)
	}
	all := listen("0.0.0.0:0")
	if got, want := baseURL("", all), "http://127.0.0.1:"+portOf(all); got != want {
		t.Errorf("all interfaces: %q, want %q", got, want)
	}
}

func portOf(ln net.Listener) string {
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}
