package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// These tests attack flowd as a caller without credentials would: forged
// X-Forwarded-For headers against the rate limits, webhook replies that try to act
// for the web UI's origin, and huge names and headers against the server's memory.
// Linux routes all of 127.0.0.0/8 to the loopback interface, so one test can be
// several client machines by binding its connections to different addresses.

var loopbackSeq atomic.Int32

// newLoopback returns a loopback address no other test of this process uses, so
// that rate-limit counts never carry over between tests (or onto 127.0.0.1, which
// the other tests sign in from).
func newLoopback() string {
	n := loopbackSeq.Add(1)
	return fmt.Sprintf("127.77.%d.%d", n/200, n%200+2)
}

// from returns an HTTP client whose connections come from the loopback address local.
func from(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// send makes a request with extra headers and returns the status, headers and body.
func send(t *testing.T, c *http.Client, method, url string, header map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data
}

// signIn asks for a token as the admin client with secret and returns the status.
func signIn(t *testing.T, c *http.Client, base, secret string, header map[string]string) int {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range header {
		h[k] = v
	}
	body, _ := json.Marshal(map[string]string{"grant_type": "client_credentials", "client_id": adminID, "client_secret": secret})
	st, _, _ := send(t, c, "POST", base+"/api/v1/auth/token", h, string(body))
	return st
}

// statuses runs n attempts and returns their statuses in order.
func statuses(n int, attempt func(i int) int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = attempt(i)
	}
	return out
}

// wantLimited checks that maxFailures attempts failed with fail and every later one
// got 429.
func wantLimited(t *testing.T, what string, got []int, fail int) {
	t.Helper()
	for i, st := range got {
		want := fail
		if i >= 10 {
			want = http.StatusTooManyRequests
		}
		if st != want {
			t.Fatalf("%s: statuses %v, want 10 x %d then 429", what, got, fail)
		}
	}
}

// echoHook saves a flow that answers the webhook call with its query, and a webhook
// that runs it; it returns the webhook's call URL and key.
func echoHook(t *testing.T, b *backend) (url, key string) {
	t.Helper()
	flow, hook := unique("abuse_echo"), unique("abuse_hook")
	pushFlow(t, b.api, flow, `function handler(system, inputs) { return {ok: true}; }`)
	var created struct{ URL, Key string }
	b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow}, &created, 201)
	return b.app.URL + created.URL, created.Key
}

// TestForwardedHeadersNotTrusted: without --trusted-proxies, X-Forwarded-For and
// X-Real-IP change nothing about whose failures are counted.
func TestForwardedHeadersNotTrusted(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		url, key := echoHook(t, b)

		t.Run("RotatingForwardedForGets429", func(t *testing.T) {
			attacker := from(newLoopback())
			spoof := func(i int) map[string]string {
				return map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i+1), "X-Real-IP": fmt.Sprintf("203.0.113.%d", i+1)}
			}
			wantLimited(t, "sign-ins with a wrong secret and a new X-Forwarded-For each", statuses(12, func(i int) int {
				return signIn(t, attacker, b.app.URL, "wrong-secret", spoof(i))
			}), http.StatusUnauthorized)
			wantLimited(t, "webhook calls with a wrong key and a new X-Forwarded-For each", statuses(12, func(i int) int {
				h := spoof(i)
				h["X-Flowd-Key"] = "guess-" + strconv.Itoa(i)
				st, _, _ := send(t, attacker, "POST", url, h, "")
				return st
			}), http.StatusNotFound)
			// The lock-out is the attacker's own: the right secret from there waits too.
			if st := signIn(t, attacker, b.app.URL, adminSecret, nil); st != http.StatusTooManyRequests {
				t.Fatalf("right secret from the locked-out address: HTTP %d, want 429", st)
			}
		})

		t.Run("SpoofedFailuresDoNotLockOutVictim", func(t *testing.T) {
			attackerAddr, victimAddr := newLoopback(), newLoopback()
			attacker, victim := from(attackerAddr), from(victimAddr)
			spoof := map[string]string{"X-Forwarded-For": victimAddr, "X-Real-IP": victimAddr}
			wantLimited(t, "sign-ins in the victim's name", statuses(12, func(int) int {
				return signIn(t, attacker, b.app.URL, "wrong-secret", spoof)
			}), http.StatusUnauthorized)
			wantLimited(t, "webhook calls in the victim's name", statuses(12, func(int) int {
				h := map[string]string{"X-Forwarded-For": victimAddr, "X-Real-IP": victimAddr, "X-Flowd-Key": "guess"}
				st, _, _ := send(t, attacker, "POST", url, h, "")
				return st
			}), http.StatusNotFound)
			if st := signIn(t, victim, b.app.URL, adminSecret, nil); st != http.StatusOK {
				t.Fatalf("the victim's sign-in after spoofed failures: HTTP %d, want 200", st)
			}
			if st, _, body := send(t, victim, "POST", url, map[string]string{"X-Flowd-Key": key}, ""); st != http.StatusOK {
				t.Fatalf("the victim's webhook call after spoofed failures: HTTP %d %s, want 200", st, body)
			}
		})
	})
}

// TestWebhookReplyCannotActForUI: a webhook's flow answers from the web UI's origin,
// so it must not set cookies, CORS or security headers there, and what it serves as
// HTML is sandboxed; it cannot serve scripts or style sheets the UI's policy would load.
func TestWebhookReplyCannotActForUI(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		flow, hook := unique("abuse_reply"), unique("abuse_reply")
		pushFlow(t, b.api, flow, `function handler(system, inputs) {
  const mode = inputs.query.mode;
  if (mode === 'js') {
    return {status_code: 200, headers: {'Content-Type': 'application/javascript; charset=utf-8'}, body: 'fetch("/api/v1/clients")'};
  }
  if (mode === 'css') {
    return {status_code: 200, headers: {'content-type': 'text/html, text/css'}, body: 'body { background: url(/x) }'};
  }
  return {status_code: 200, body: '<script>fetch("/api/v1/clients").then(r => r.text()).then(alert)</script>', headers: {
    'Content-Type': 'text/html; charset=utf-8',
    'Set-Cookie': 'flowd_session=attacker; Path=/; SameSite=None; Secure',
    'set-cookie2': 'legacy=1',
    'Access-Control-Allow-Origin': '*',
    'access-control-allow-credentials': 'true',
    'Access-Control-Expose-Headers': '*',
    'Content-Security-Policy': "default-src *; script-src * 'unsafe-inline' 'unsafe-eval'",
    'X-Frame-Options': 'ALLOWALL',
    'X-Content-Type-Options': 'sniff',
    'Referrer-Policy': 'unsafe-url',
    'Clear-Site-Data': '"*"',
    'Strict-Transport-Security': 'max-age=0',
    'X-Flowd-Execution-Id': 'forged',
    'X-Order-Id': 'kept-1'}};
}`)
		var created struct{ URL, Key string }
		b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow}, &created, 201)
		call := func(mode string) (int, http.Header, []byte) {
			return send(t, http.DefaultClient, "GET", b.app.URL+created.URL+"?mode="+mode, map[string]string{"X-Flowd-Key": created.Key, "Origin": "https://evil.example"}, "")
		}

		t.Run("HTML", func(t *testing.T) {
			st, h, body := call("html")
			if st != 200 || !strings.Contains(string(body), "<script>") {
				t.Fatalf("HTTP %d %s", st, body)
			}
			for k := range h {
				lk := strings.ToLower(k)
				if lk == "set-cookie" || lk == "set-cookie2" || lk == "clear-site-data" || lk == "strict-transport-security" || strings.HasPrefix(lk, "access-control-") {
					t.Errorf("the reply carries %s: %q", k, h.Values(k))
				}
			}
			if csp := h.Values("Content-Security-Policy"); len(csp) != 1 || !hasDirective(csp[0], "sandbox") || !hasDirective(csp[0], "default-src 'none'") {
				t.Errorf("Content-Security-Policy %q, want flowd's one policy with sandbox and default-src 'none'", csp)
			}
			checkSecurityHeaders(t, "the webhook reply", h)
			if got := h.Get("X-Flowd-Execution-Id"); got == "" || got == "forged" {
				t.Errorf("X-Flowd-Execution-Id %q, want the execution's id", got)
			}
			if h.Get("X-Order-Id") != "kept-1" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				t.Errorf("the flow's harmless headers are lost: %v", h)
			}
		})

		for _, mode := range []string{"js", "css"} {
			t.Run("NoScriptOrStyle_"+mode, func(t *testing.T) {
				st, h, _ := call(mode)
				if ct := h.Get("Content-Type"); st != 200 || !strings.HasPrefix(ct, "text/plain") {
					t.Fatalf("HTTP %d, Content-Type %q: want text/plain, which the UI's policy never runs or applies", st, ct)
				}
				checkSecurityHeaders(t, "the webhook reply", h)
			})
		}
	})
}

// hasDirective reports whether a policy has the directive (with its exact sources).
func hasDirective(policy, directive string) bool {
	for _, d := range strings.Split(policy, ";") {
		if strings.TrimSpace(d) == directive {
			return true
		}
	}
	return false
}

// checkSecurityHeaders checks the headers every response must carry.
func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := h.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %s is %q, want %q", what, k, got, want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	if !hasDirective(csp, "frame-ancestors 'none'") || !strictScripts(csp) || strings.Contains(csp, "*") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy %q, want a strict policy with frame-ancestors 'none'", what, csp)
	}
}

// strictScripts reports whether a policy allows no inline script: its script-src,
// or default-src without one, is 'self' or 'none'.
func strictScripts(policy string) bool {
	sources := map[string]string{}
	for _, d := range strings.Split(policy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		sources[name] = value
	}
	src, ok := sources["script-src"]
	if !ok {
		src, ok = sources["default-src"]
	}
	return ok && (src == "'self'" || src == "'none'")
}

// TestSecurityHeaders requests the web UI and every GET route of the OpenAPI
// document, with and without a token, plus errors the router and the caps answer,
// and checks the headers on each response.
func TestSecurityHeaders(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		anon := &client{base: b.app.URL}
		get := func(c *client, method, path string, header map[string]string) (int, http.Header, []byte) {
			h := map[string]string{}
			if c.token != "" {
				h["Authorization"] = "Bearer " + c.token
			}
			for k, v := range header {
				h[k] = v
			}
			return send(t, http.DefaultClient, method, b.app.URL+path, h, "")
		}

		t.Run("WebUI", func(t *testing.T) {
			_, _, html := get(anon, "GET", "/", nil)
			asset := regexp.MustCompile(`/assets/[A-Za-z0-9_.-]+\.js`).Find(html)
			if asset == nil {
				t.Fatalf("no script in index.html: %s", html)
			}
			for _, p := range []string{"/", "/index.html", "/flows/some/client/route", string(asset)} {
				st, h, _ := get(anon, "GET", p, nil)
				if st != 200 {
					t.Fatalf("GET %s: HTTP %d", p, st)
				}
				checkSecurityHeaders(t, "GET "+p, h)
				csp := h.Get("Content-Security-Policy")
				for _, d := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self'", "object-src 'none'", "base-uri 'none'"} {
					if !hasDirective(csp, d) {
						t.Errorf("GET %s: the UI's policy %q lacks %s", p, csp, d)
					}
				}
			}
		})

		t.Run("EveryRoute", func(t *testing.T) {
			var doc struct {
				Paths map[string]map[string]any `json:"paths"`
			}
			anon.must(t, "GET", "/api/v1/openapi.json", nil, &doc, 200)
			param := regexp.MustCompile(`\{[^}]+\}`)
			n := 0
			for path, ops := range doc.Paths {
				if _, ok := ops["get"]; !ok {
					continue
				}
				p := param.ReplaceAllString(path, "abuse-nope")
				for _, c := range []*client{anon, b.api} {
					st, h, body := get(c, "GET", p, nil)
					checkSecurityHeaders(t, fmt.Sprintf("GET %s (token %v): HTTP %d %.100s", p, c.token != "", st, body), h)
					n++
				}
			}
			if n < 20 {
				t.Fatalf("only %d routes checked; the OpenAPI document lists fewer GET routes than expected", n)
			}
		})

		t.Run("Errors", func(t *testing.T) {
			for _, tc := range []struct {
				method, path string
				want         int
			}{
				{"GET", "/api/v1/no-such-route", 404},
				{"DELETE", "/healthz", 405},
				{"POST", "/api/v1/auth/token", 400},
				{"GET", "/api/v1/webhooks/" + strings.Repeat("n", 200) + "/call", 404},
				{"GET", "/api/v1/webhooks/" + strings.Repeat("n", 9<<10) + "/call", 414},
				{"GET", "/api/v1/flows?x=" + strings.Repeat("n", 9<<10), 414},
			} {
				st, h, body := get(anon, tc.method, tc.path, nil)
				what := fmt.Sprintf("%s %.60s", tc.method, tc.path)
				if st != tc.want {
					t.Errorf("%s: HTTP %d %s, want %d", what, st, body, tc.want)
				}
				checkSecurityHeaders(t, what, h)
			}
		})
	})
}

// TestTrustedProxyAndMemoryBound runs flowd in a child process with
// --trusted-proxies, so that a test can measure that process's memory.
func TestTrustedProxyAndMemoryBound(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		proxyAddr := newLoopback()
		t.Setenv("FLOWD_TRUSTED_PROXIES", proxyAddr+"/32")
		dbURL := ""
		if b.name == "postgres" {
			dbURL = os.Getenv("FLOWD_TEST_POSTGRES_URL")
		}
		p := startProcess(t, t.TempDir(), freePort(t), freePort(t), dbURL)
		proxy := from(proxyAddr)

		t.Run("ForwardedAddressIsUsed", func(t *testing.T) {
			forwarded := func(client string) map[string]string { return map[string]string{"X-Forwarded-For": client} }
			wantLimited(t, "sign-ins through the proxy for one client", statuses(12, func(int) int {
				return signIn(t, proxy, p.url, "wrong-secret", forwarded("198.51.100.7"))
			}), http.StatusUnauthorized)
			// What a client writes itself comes first in the header; the proxy appends
			// the address it saw, and that is the one counted.
			if st := signIn(t, proxy, p.url, adminSecret, forwarded("198.51.100.99, 198.51.100.7")); st != http.StatusTooManyRequests {
				t.Fatalf("locked-out client that prepends another address: HTTP %d, want 429", st)
			}
			if st := signIn(t, proxy, p.url, adminSecret, forwarded("198.51.100.8")); st != http.StatusOK {
				t.Fatalf("another client through the same proxy: HTTP %d, want 200", st)
			}
			// From an address that is not a trusted proxy the header is ignored.
			direct := from(newLoopback())
			wantLimited(t, "sign-ins from an untrusted address naming a client", statuses(12, func(int) int {
				return signIn(t, direct, p.url, "wrong-secret", forwarded("198.51.100.9"))
			}), http.StatusUnauthorized)
			if st := signIn(t, proxy, p.url, adminSecret, forwarded("198.51.100.9")); st != http.StatusOK {
				t.Fatalf("the client named by an untrusted address, through the proxy: HTTP %d, want 200", st)
			}
		})

		t.Run("MemoryBounded", func(t *testing.T) {
			testMemoryBound(t, p, proxyAddr)
		})
	})
}

// testMemoryBound sends 2,000 requests with 1 MB names and headers, and 2,000 just
// under the caps that reach the handlers (a fresh webhook name and forwarded address
// each, so that every one is a new rate-limit key), and checks that the server's
// resident memory grows by less than 50 MB. Without the caps and the bounded
// limiter, the same requests grew it by 3.6 GB.
func testMemoryBound(t *testing.T, p *flowdProcess, proxyAddr string) {
	host := strings.TrimPrefix(p.url, "http://")
	attacker := newLoopback()
	mb := strings.Repeat("a", 1<<20)
	var bigXFF strings.Builder
	for bigXFF.Len() < 1<<20 {
		bigXFF.WriteString("10.1.2.3, ")
	}
	pad := strings.Repeat("p", 50<<10)
	tokenBody := `{"client_id":"` + adminID + `","client_secret":"wrong"}`
	var seq atomic.Int64

	type request struct {
		from, head string
		want       []int // any other status fails; nil: 431 or a refused connection
	}
	build := func(kind int) request {
		n := seq.Add(1)
		switch kind {
		case 0: // a new 1 MB webhook name
			return request{attacker, fmt.Sprintf("GET /api/v1/webhooks/%08d%s/call HTTP/1.1\r\nHost: %s\r\n\r\n", n, mb[8:], host), nil}
		case 1: // a 1 MB X-Forwarded-For, naming a new client first, through the trusted proxy
			return request{proxyAddr, fmt.Sprintf("POST /api/v1/auth/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
				"X-Forwarded-For: 198.19.%d.%d, %s\r\nContent-Length: %d\r\n\r\n%s", host, n/250%250, n%250+1, bigXFF.String(), len(tokenBody), tokenBody), nil}
		case 2: // a valid, new name and a new forwarded address: a lookup and a new key each
			xff := strings.Repeat("10.1.2.3, ", 5000) + fmt.Sprintf("198.18.%d.%d", n/250%250, n%250+1)
			return request{proxyAddr, fmt.Sprintf("POST /api/v1/webhooks/h%0127d/call HTTP/1.1\r\nHost: %s\r\nX-Flowd-Key: wrong\r\nX-Forwarded-For: %s\r\n\r\n", n, host, xff), []int{404}}
		default: // names that are not valid, just under and over the URL cap, with large headers
			size, want := 7<<10, 404
			if n%2 == 0 {
				size, want = 9<<10, 414
			}
			return request{attacker, "GET /api/v1/webhooks/" + strings.Repeat("n", size) + "/call HTTP/1.1\r\nHost: " + host + "\r\nX-Pad: " + pad + "\r\n\r\n", []int{want}}
		}
	}
	var failures []string
	var mu sync.Mutex
	attack := func(n int) {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1); i <= int64(n); i = next.Add(1) {
					r := build(int(i % 4))
					st, err := rawStatus(r.from, host, r.head)
					ok := false
					if r.want == nil {
						ok = st == 431 || (err != nil && refused(err))
					}
					for _, w := range r.want {
						ok = ok || st == w
					}
					if !ok {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("request kind %d (%d bytes): HTTP %d, %v", i%4, len(r.head), st, err))
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
	}

	attack(400) // warm up: connections, buffers and pools of the kinds this uses
	before := residentBytes(t, p.cmd.Process.Pid)
	attack(4000)
	after := residentBytes(t, p.cmd.Process.Pid)
	t.Logf("RSS %d MB before, %d MB after 4,000 requests", before>>20, after>>20)
	if after-before >= 50<<20 {
		t.Errorf("RSS grew by %d MB (from %d MB to %d MB), want under 50 MB", (after-before)>>20, before>>20, after>>20)
	}
	if len(failures) > 0 {
		t.Fatalf("%d of the requests were not refused as expected, e.g. %s", len(failures), strings.Join(failures[:min(5, len(failures))], "; "))
	}
	// The server still serves.
	c := &client{base: p.url}
	if err := c.login(adminID, adminSecret); err != nil {
		t.Fatalf("sign-in after the attack: %v", err)
	}
}

// rawStatus sends head, a whole HTTP/1.1 request, from the loopback address local and
// returns the status of the answer. The request is written while the answer is read:
// a server that refuses a request answers and closes before reading all of it.
func rawStatus(local, hostport, head string) (int, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	conn, err := d.Dial("tcp", hostport)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	go func() { _, _ = io.Copy(conn, strings.NewReader(head)) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// refused reports whether err is the server closing a connection it would not read.
func refused(err error) bool {
	s := err.Error()
	return err == io.EOF || err == io.ErrUnexpectedEOF || strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe")
}

// residentBytes returns the resident memory of process pid in bytes (Linux /proc).
func residentBytes(t *testing.T, pid int) int64 {
	t.Helper()
	n := procStatusBytes(pid, "VmRSS")
	if n == 0 {
		t.Fatalf("no VmRSS in /proc/%d/status", pid)
	}
	return n
}
