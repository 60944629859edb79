package rest

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// crossOriginHeaders are the only request headers a redirect hop to another
// origin gets: every other header was set by the flow or an authentication
// method, and any of them may carry a credential (X-Api-Signature, say), so none
// is guessed to be harmless.
var crossOriginHeaders = []string{"Accept", "Accept-Language", "User-Agent"}

// tokenMaxRedirects is how many redirects a request to a saved OAuth2 grant's
// token URL follows (as Go's http.Client would).
const tokenMaxRedirects = 10

// checkRedirect returns the http.Client redirect policy of a call: stop when
// redirects are off or too many, and otherwise follow as followRedirect says.
func checkRedirect(s *spec) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if !s.redirects {
			return http.ErrUseLastResponse
		}
		if len(via) > s.maxRedirects {
			return &redirectError{max: s.maxRedirects}
		}
		return followRedirect(req, via, s.auth.secretParams(), "url")
	}
}

// checkTokenRedirect is the redirect policy of requests to a saved OAuth2
// grant's token URL: followRedirect, at most tokenMaxRedirects times.
func checkTokenRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= tokenMaxRedirects {
		return fmt.Errorf("the token URL redirected more than %d times; set the grant's token_url to the final address", tokenMaxRedirects)
	}
	return followRedirect(req, via, nil, "the grant's token_url")
}

// followRedirect prepares req, the next hop of the requests via, or refuses it.
//
// No hop sends Referer: Go's client adds one, and the URL it names may hold a
// signature or a query API key. Once a hop leaves the origin (scheme, host and
// port) of the first request, that hop and every later one (even back on the
// first origin, where another server chose the path) keep only
// crossOriginHeaders and lose the query parameters secretParams; and a hop that
// would send the request body there (307 and 308 keep it) is refused with a
// *crossOriginError, as the body may hold credentials (a login's password);
// input names what to set to the other origin's URL if the user trusts it.
func followRedirect(req *http.Request, via []*http.Request, secretParams []string, input string) error {
	req.Header.Del("Referer")
	first := origin(via[0].URL)
	left := origin(req.URL) != first
	for _, r := range via[1:] {
		left = left || origin(r.URL) != first
	}
	if !left {
		return nil
	}
	if req.Body != nil && req.Body != http.NoBody {
		status := "a redirect"
		if req.Response != nil {
			status = req.Response.Status
		}
		return &crossOriginError{method: via[0].Method, from: redactURL(via[0].URL, secretParams...),
			to: redactURL(req.URL, secretParams...), status: status, input: input}
	}
	for name := range req.Header {
		if !containsFold(crossOriginHeaders, name) {
			delete(req.Header, name)
		}
	}
	if len(secretParams) > 0 && req.URL.RawQuery != "" {
		q := req.URL.Query()
		for _, k := range secretParams {
			q.Del(k)
		}
		req.URL.RawQuery = q.Encode()
	}
	return nil
}

// origin returns the scheme, host and port of u, with the scheme's default port
// spelled out: http://h and http://h:80 are one origin.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), port)
}

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(e, s) {
			return true
		}
	}
	return false
}

// crossOriginError is a redirect that would send the request body to another
// origin. It is not retried: the server answers the same way next time.
type crossOriginError struct {
	method, from, to, status string
	input                    string // what to set to e.to: "url", "auth_url", ...
}

func (e *crossOriginError) Error() string {
	msg := fmt.Sprintf("%s %s was redirected (%s) to another origin, %s, with the request body; flowd does not send a body to another origin, as it may hold credentials. If you trust %s, set %s to it",
		e.method, e.from, e.status, e.to, e.to, e.input)
	if e.input == "url" {
		msg += ", or set allow_redirects false to get the redirect response itself"
	}
	return msg
}

type redirectError struct{ max int }

func (e *redirectError) Error() string {
	return fmt.Sprintf("stopped after %d redirects (max_redirects); raise max_redirects, or set allow_redirects false to get the redirect response itself", e.max)
}
