package rest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/flowd/flowd/connectors/oauth"
	"github.com/flowd/flowd/connectors/rest"
)

// hop is one request a test server received.
type hop struct {
	method, path string
	query        url.Values
	header       http.Header
	body         string
}

// origins are two servers on 127.0.0.1, A and B: two origins, as their ports
// differ. Each redirects /redirect?code=N&to=URL to URL with status N, /copy to
// B's /target with the request's query (a careless server), answers /login and
// /token with a token, and anything else with {"ok": true}. Every request is
// recorded.
type origins struct {
	a, b string
	mu   sync.Mutex
	hops map[string][]hop // by "a" or "b"
}

const originToken = "origin-token-0123456789"

func MustOrigins(tb testing.TB) *origins {
	tb.Helper()
	o := &origins{hops: map[string][]hop{}}
	serve := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			o.mu.Lock()
			o.hops[name] = append(o.hops[name], hop{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), string(body)})
			o.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			switch r.URL.Path {
			case "/redirect":
				var code int
				fmt.Sscan(r.URL.Query().Get("code"), &code)
				http.Redirect(w, r, r.URL.Query().Get("to"), code)
			case "/copy":
				http.Redirect(w, r, o.b+"/target?"+r.URL.RawQuery, http.StatusFound)
			case "/login", "/token":
				fmt.Fprintf(w, `{"access_token": %q, "token_type": "bearer", "expires_in": 3600}`, originToken)
			default:
				fmt.Fprint(w, `{"ok": true}`)
			}
		}
	}
	o.a, o.b = MustServer(tb, serve("a")), MustServer(tb, serve("b"))
	return o
}

// got returns the requests server name ("a" or "b") received at path.
func (o *origins) got(name, path string) []hop {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []hop
	for _, h := range o.hops[name] {
		if h.path == path {
			out = append(out, h)
		}
	}
	return out
}

// only returns the one request server name received at path.
func (o *origins) only(tb testing.TB, name, path string) hop {
	tb.Helper()
	hops := o.got(name, path)
	if len(hops) != 1 {
		tb.Fatalf("server %s got %d requests at %s, want 1", name, len(hops), path)
	}
	return hops[0]
}

// via returns the URL of from's /redirect that answers code with Location to.
func via(from string, code int, to string) string {
	return fmt.Sprintf("%s/redirect?code=%d&to=%s", from, code, url.QueryEscape(to))
}

func (o *origins) connector() *rest.Connector {
	return &rest.Connector{Tokens: &oauth.Cache{}, Grants: func(_ context.Context, name string) (oauth.Grant, error) {
		u := o.a + "/token"
		if name == "redirected" {
			u = via(o.a, http.StatusTemporaryRedirect, o.b+"/token")
		}
		return oauth.Grant{Type: oauth.TypeClientCredentials, TokenURL: u, ClientID: "cid", ClientSecret: "client-secret-0123456789"}, nil
	}}
}

// crossOriginHeaders are the header names a request may carry to another origin:
// the safe list, and Accept-Encoding, which Go's transport adds itself.
var crossOriginHeaders = []string{"Accept", "Accept-Language", "User-Agent", "Accept-Encoding"}

// TestRedirectToOtherOrigin: after a hop to another origin, no header the flow or
// an authentication method set arrives there but Accept, Accept-Language and
// User-Agent, on that hop and every later one (even back on the first origin);
// on the same origin they all arrive. Every credential is one that no name-based
// guess would recognise as one.
func TestRedirectToOtherOrigin(t *testing.T) {
	o := MustOrigins(t)
	creds := []struct {
		name   string
		in     map[string]any
		header string // the credential's header
	}{
		{"FlowHeaders", map[string]any{"headers": map[string]any{"X-Custom-Auth": "h-auth", "X-Api-Signature": "h-sig", "X-Plain": "h-plain",
			"Accept": "application/json", "Accept-Language": "de", "User-Agent": "flow-agent/1"}}, "X-Api-Signature"},
		{"Basic", map[string]any{"authentication_method": "basic", "username": "u", "password": "p"}, "Authorization"},
		{"Bearer", map[string]any{"token": "t"}, "Authorization"},
		{"APIKeyHeader", map[string]any{"api_key": "k", "api_key_name": "X-Plain-Name"}, "X-Plain-Name"},
		{"Cookies", map[string]any{"cookies": map[string]any{"sid": "s"}}, "Cookie"},
		{"OAuth2", map[string]any{"grant": "api"}, "Authorization"},
		{"Custom", map[string]any{"auth_url": o.a + "/login", "auth_headers": map[string]any{"X-Custom-Auth": "a"}}, "Authorization"},
	}
	hops := []struct {
		name     string
		url      func(target string) string // the call's url, redirecting to target
		server   string                     // the server of the target
		sameHops bool                       // every hop stays on A's origin
	}{
		{"SameOrigin", func(p string) string { return via(o.a, 302, o.a+p) }, "a", true},
		{"SameOrigin307", func(p string) string { return via(o.a, 307, o.a+p) }, "a", true},
		{"OtherOrigin", func(p string) string { return via(o.a, 302, o.b+p) }, "b", false},
		{"OtherOrigin308", func(p string) string { return via(o.a, 308, o.b+p) }, "b", false},
		{"OtherHost", func(p string) string { return via(o.a, 302, otherHost(o.a)+p) }, "a", false},
		{"BackToFirst", func(p string) string { return via(o.a, 302, via(o.b, 302, o.a+p)) }, "a", false},
	}
	for _, cr := range creds {
		for _, h := range hops {
			t.Run(cr.name+"/"+h.name, func(t *testing.T) {
				target := "/target-" + cr.name + "-" + h.name
				in := map[string]any{"url": h.url(target)}
				for k, v := range cr.in {
					in[k] = v
				}
				MustCall(t, o.connector(), in)
				got := o.only(t, h.server, target).header
				if h.sameHops {
					if got.Get(cr.header) == "" {
						t.Fatalf("%s not sent on the same origin; got %v", cr.header, got)
					}
					return
				}
				for name := range got {
					if !slices.Contains(crossOriginHeaders, name) {
						t.Errorf("header %s: %q sent after a hop to another origin", name, got.Get(name))
					}
				}
				if cr.name == "FlowHeaders" && (got.Get("Accept") != "application/json" || got.Get("Accept-Language") != "de" || got.Get("User-Agent") != "flow-agent/1") {
					t.Errorf("the safe headers were not kept: %v", got)
				}
			})
		}
	}
}

// TestRedirectBody: a hop to another origin never gets the request body: 307
// and 308, which keep the body, are an error that says what to do, and nothing
// reaches the other origin; 302 and 303 turn the request into a GET without
// body, as browsers do. On the same origin a 307 keeps the body.
func TestRedirectBody(t *testing.T) {
	o := MustOrigins(t)
	const password = "pass-<&>-0123456789"
	body := map[string]any{"password": password}
	t.Run("SameOrigin307", func(t *testing.T) {
		MustCall(t, o.connector(), map[string]any{"url": via(o.a, 307, o.a+"/same307"), "json": body})
		if h := o.only(t, "a", "/same307"); h.method != "POST" || !strings.Contains(h.body, "pass-") {
			t.Fatalf("got %s with body %q, want the POST and its body", h.method, h.body)
		}
	})
	for _, code := range []int{307, 308} {
		t.Run(fmt.Sprint("ErrOtherOrigin", code), func(t *testing.T) {
			target := fmt.Sprintf("/body%d", code)
			start := via(o.a, code, o.b+target)
			_, err := CallErr(t, o.connector(), map[string]any{"url": start, "json": body, "headers": map[string]any{"X-Api-Signature": "sig"}})
			WantInputError(t, err, fmt.Sprintf("POST %s was redirected (%d", start, code), "to another origin, "+o.b+target, "with the request body", "If you trust "+o.b+target+", set url to it, or set allow_redirects false")
			if got := o.got("b", target); len(got) != 0 {
				t.Fatalf("the other origin got %+v", got)
			}
		})
	}
	for _, code := range []int{302, 303} {
		t.Run(fmt.Sprint("OtherOrigin", code), func(t *testing.T) {
			target := fmt.Sprintf("/body%d", code)
			MustCall(t, o.connector(), map[string]any{"url": via(o.a, code, o.b+target), "json": body})
			h := o.only(t, "b", target)
			if h.method != "GET" || h.body != "" || h.header.Get("Content-Type") != "" {
				t.Fatalf("got %s %q with Content-Type %q, want a GET without body", h.method, h.body, h.header.Get("Content-Type"))
			}
		})
	}
	t.Run("ErrCustomAuth", func(t *testing.T) {
		login := via(o.a, 307, o.b+"/login")
		_, err := CallErr(t, o.connector(), map[string]any{"url": o.a + "/api", "auth_url": login,
			"auth_headers": map[string]any{"X-Custom-Auth": "a"}, "auth_json": body})
		WantContains(t, err.Error(), "custom auth: POST "+login+" was redirected (307", "another origin", "If you trust "+o.b+"/login, set auth_url to it")
		if got := o.got("b", "/login"); len(got) != 0 {
			t.Fatalf("the other origin got %+v", got)
		}
		if got := o.got("a", "/api"); len(got) != 0 {
			t.Fatalf("the API was called without a token: %+v", got)
		}
	})
	t.Run("ErrOAuth2TokenURL", func(t *testing.T) {
		_, err := CallErr(t, o.connector(), map[string]any{"url": o.a + "/api2", "grant": "redirected"})
		WantContains(t, err.Error(), "another origin", "If you trust "+o.b+"/token, set the grant's token_url to it")
		if got := o.got("b", "/token"); len(got) != 0 {
			t.Fatalf("the other origin got %+v", got)
		}
	})
	t.Run("NotRetried", func(t *testing.T) {
		start := via(o.a, 307, o.b+"/retry") + "&n=retry"
		c := fast()
		_, err := CallErr(t, c, map[string]any{"url": start, "json": body, "retry_backoff": map[string]any{"deadline": 60.0}})
		var ie *rest.InputError
		if !errors.As(err, &ie) {
			t.Fatalf("err = %T %v, want *rest.InputError", err, err)
		}
		n := 0
		for _, h := range o.got("a", "/redirect") {
			if h.query.Get("n") == "retry" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("the redirecting server got %d tries, want 1", n)
		}
	})
}

// TestRedirectNoReferer: no hop sends Referer, on the same origin or another,
// although the previous URL holds a signature and Go's client would name it; a
// Referer the flow set is not sent on either.
func TestRedirectNoReferer(t *testing.T) {
	o := MustOrigins(t)
	for _, tt := range []struct {
		name, url, server, target string
		in                        map[string]any
	}{
		{"SameOrigin", via(o.a, 302, o.a+"/ref-same") + "&sig=sig-secret", "a", "/ref-same", nil},
		{"OtherOrigin", via(o.a, 302, o.b+"/ref-other") + "&sig=sig-secret", "b", "/ref-other", nil},
		{"Chain", via(o.a, 302, via(o.a, 307, o.b+"/ref-chain")) + "&sig=sig-secret", "b", "/ref-chain", nil},
		{"SetByFlow", via(o.a, 302, o.a+"/ref-flow"), "a", "/ref-flow", map[string]any{"headers": map[string]any{"Referer": "https://app.example.com/?sig=sig-secret"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := map[string]any{"url": tt.url}
			for k, v := range tt.in {
				in[k] = v
			}
			MustCall(t, o.connector(), in)
			if ref := o.only(t, tt.server, tt.target).header.Get("Referer"); ref != "" {
				t.Fatalf("Referer %q sent", ref)
			}
			for _, h := range o.got("b", "/redirect") {
				if ref := h.header.Get("Referer"); ref != "" {
					t.Fatalf("Referer %q sent to a redirecting hop", ref)
				}
			}
		})
	}
}

// TestRedirectAPIKeyQuery: a careless server copies the query, api_key and all,
// into a redirect to another origin: the key is not sent there, in the URL or
// in a Referer, while the other parameters are.
func TestRedirectAPIKeyQuery(t *testing.T) {
	o := MustOrigins(t)
	const key = "query-key-0123456789"
	out := MustCall(t, o.connector(), map[string]any{"url": o.a + "/copy", "api_key": key, "api_key_in": "query", "params": map[string]any{"q": "1"}})
	if got := o.only(t, "a", "/copy"); got.query.Get("api_key") != key {
		t.Fatalf("the API itself did not get the key: %v", got.query)
	}
	h := o.only(t, "b", "/target")
	if h.query.Get("api_key") != "" || h.query.Get("q") != "1" {
		t.Errorf("query at the other origin = %v, want q without api_key", h.query)
	}
	if ref := h.header.Get("Referer"); ref != "" {
		t.Errorf("Referer %q sent", ref)
	}
	if s := fmt.Sprint(out); strings.Contains(s, key) {
		t.Errorf("outputs hold the key: %s", s)
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"http://api.example.com/x", "http://api.example.com:80/y?q=1", true},
		{"https://API.example.com.", "https://api.example.com:443", true},
		{"https://[::1]/", "https://[::1]:443/x", true},
		{"https://api.example.com", "http://api.example.com", false},
		{"https://api.example.com", "https://api.example.com:8443", false},
		{"https://api.example.com", "https://files.example.com", false},
		{"http://127.0.0.1:8080", "http://localhost:8080", false},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if same := rest.Origin(a) == rest.Origin(b); same != tt.same {
			t.Errorf("%s and %s: same origin = %v (%s, %s), want %v", tt.a, tt.b, same, rest.Origin(a), rest.Origin(b), tt.same)
		}
	}
}
