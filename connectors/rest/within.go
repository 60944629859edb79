package rest

import (
	"context"
	"net/http"
)

// CallWithin is Call with every request (the first, each redirect hop, custom
// auth's auth_url and every page) limited to domains, on top of AllowedDomains: a
// host must then be allowed by both lists. The engine uses it for a saved
// connector's domains, so one shared Connector serves calls with different
// allowlists. An empty domains is Call. It returns what Call returns; a refused
// host is an *InputError that names it.
func (c *Connector) CallWithin(ctx context.Context, inputs map[string]any, domains []string) (map[string]any, error) {
	if len(domains) == 0 {
		return c.Call(ctx, inputs)
	}
	limited := *c
	limited.within = append([]string(nil), domains...)
	return limited.Call(ctx, inputs)
}

// guard returns the transport that refuses hosts outside AllowedDomains and the
// domains of CallWithin.
func (c *Connector) guard(rt http.RoundTripper) http.RoundTripper {
	g := http.RoundTripper(domainGuard{next: rt, allowed: c.AllowedDomains})
	if len(c.within) > 0 {
		g = domainGuard{next: g, allowed: c.within}
	}
	return g
}
