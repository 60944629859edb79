package rest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// newTransport returns the transport of one call: a clone of the connector's base
// transport with the call's TLS settings and connect timeout. TLS settings and the
// connect timeout need the base to be an *http.Transport (or nil); another
// RoundTripper is used as it is, and cacert or verify_ssl false then give an input
// error. A call without TLS settings or connect timeout uses the base transport itself,
// sharing its connection pool; the caller runs the returned func when the call ends
// (it closes the idle connections of a clone).
func (c *Connector) newTransport(s *spec) (http.RoundTripper, func(), error) {
	base := c.HTTPTransport
	if base == nil {
		base = http.DefaultTransport
	}
	t, ok := base.(*http.Transport)
	if !ok {
		if s.cacert != "" || !s.verifySSL || s.connect > 0 {
			return nil, nil, &InputError{Inputs: []string{"cacert", "verify_ssl", "connect_timeout"}, Message: "cacert, verify_ssl and connect_timeout cannot be applied by this flowd server's HTTP transport; remove them or ask an administrator"}
		}
		return base, func() {}, nil
	}
	if s.cacert == "" && s.verifySSL && s.connect == 0 {
		// The common case shares the base transport's pool of kept-alive connections
		// across calls: no new TCP and TLS handshake per step of a flow.
		return t, func() {}, nil
	}
	t = t.Clone()
	if s.cacert != "" || !s.verifySSL {
		cfg := t.TLSClientConfig
		if cfg == nil {
			cfg = &tls.Config{}
		}
		cfg = cfg.Clone()
		if !s.verifySSL {
			cfg.InsecureSkipVerify = true
		}
		if s.cacert != "" {
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM([]byte(s.cacert)) {
				return nil, nil, inputErrorf("cacert", "input cacert holds no PEM certificate; paste the server's CA certificate, starting with -----BEGIN CERTIFICATE-----")
			}
			cfg.RootCAs = pool
		}
		t.TLSClientConfig = cfg
	}
	if s.connect > 0 {
		dial := t.DialContext
		if dial == nil {
			dial = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext
		}
		timeout := s.connect
		t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeoutCause(ctx, timeout, errConnectTimeout)
			defer cancel()
			conn, err := dial(ctx, network, addr)
			if err != nil && context.Cause(ctx) == errConnectTimeout {
				return nil, fmt.Errorf("%w after %s: %w", errConnectTimeout, timeout, err)
			}
			return conn, err
		}
		t.TLSHandshakeTimeout = timeout
	}
	return t, t.CloseIdleConnections, nil
}

var (
	errConnectTimeout = errors.New("connect_timeout exceeded")
	errReadTimeout    = errors.New("read_timeout exceeded")
	errTotalTimeout   = errors.New("total_timeout exceeded")
)

// domainGuard refuses requests to hosts outside allowed. It sits below the
// http.Client, so the first request and every redirect hop are checked.
type domainGuard struct {
	next    http.RoundTripper
	allowed []string
}

func (g domainGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkDomain(req.URL.Hostname(), g.allowed); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return g.next.RoundTrip(req)
}

// domainError is a request to a host outside the allowed domains.
type domainError struct {
	host    string
	allowed []string
}

func (e *domainError) Error() string {
	return fmt.Sprintf("host %s is not in this connector's allowed domains (%s); call one of those or ask an administrator to allow %s",
		e.host, strings.Join(e.allowed, ", "), e.host)
}

// checkDomain returns nil when host is allowed: allowed is empty, or host equals
// an entry, or an entry "*.example.com" and host is a subdomain of example.com (at
// any depth; example.com itself needs its own entry).
func checkDomain(host string, allowed []string) error {
	if len(allowed) == 0 {
		return nil
	}
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, a := range allowed {
		a = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(a)), ".")
		if suffix, ok := strings.CutPrefix(a, "*."); ok {
			if strings.HasSuffix(h, "."+suffix) {
				return nil
			}
		} else if h == a {
			return nil
		}
	}
	return &domainError{host: host, allowed: allowed}
}
