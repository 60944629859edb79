package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/internal/app"
)

// oidcProvider is a real OpenID Connect provider process: the npm package
// oauth2-mock-server run by node through web/e2e/oidc-provider.mjs. Its /authorize
// signs anyone in at once and redirects back with a code, so that a plain HTTP
// client with a cookie jar can go through a whole sign-in.
type oidcProvider struct {
	// Issuer is the provider's issuer URL (http://127.0.0.1:<port>).
	Issuer string
}

// oidcRequest is one request the provider received: endpoint "authorize" or "token"
// with its query or form parameters (never the client secret).
type oidcRequest struct {
	Endpoint string            `json:"endpoint"`
	Params   map[string]string `json:"params"`
}

// startOIDCProvider starts the provider for one test and stops it when the test
// ends. It needs node and web/node_modules (npm ci in web/).
func startOIDCProvider(t testing.TB) *oidcProvider {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "web", "e2e", "oidc-provider.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join("..", "web", "node_modules", "oauth2-mock-server")); err != nil {
		t.Fatalf("the OIDC provider of the tests is missing: run npm ci in web/ (it installs oauth2-mock-server): %v", err)
	}
	cmd := exec.Command("node", script, "0")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // the provider exits when this closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the OIDC provider with node (is Node.js installed?): %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-ready:
	case <-exited:
		t.Fatal("the OIDC provider exited before it listened (see its output above)")
	case <-time.After(60 * time.Second):
		t.Fatal("the OIDC provider did not start within 60 s")
	}
	var hello struct {
		Issuer string `json:"issuer"`
	}
	if err := json.Unmarshal([]byte(line), &hello); err != nil || hello.Issuer == "" {
		t.Fatalf("the OIDC provider printed %q, not {\"issuer\": ...}", line)
	}
	return &oidcProvider{Issuer: hello.Issuer}
}

// SetClaims sets claims that go into every ID token from now on (a nil value
// removes the claim); iss, aud and nonce can be overridden too.
func (p *oidcProvider) SetClaims(t testing.TB, claims map[string]any) {
	t.Helper()
	b, _ := json.Marshal(claims)
	req, _ := http.NewRequest(http.MethodPut, p.Issuer+"/_control/claims", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("set the provider's claims: HTTP %d", resp.StatusCode)
	}
}

// Requests returns what /authorize and /token received, oldest first.
func (p *oidcProvider) Requests(t testing.TB) []oidcRequest {
	t.Helper()
	resp, err := http.Get(p.Issuer + "/_control/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []oidcRequest
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// ssoBrowser is an HTTP client with cookies that follows redirects one at a time,
// as a browser would, so that each hop can be checked or tampered with.
type ssoBrowser struct {
	jar  *cookiejar.Jar
	http *http.Client
}

func newSSOBrowser(t testing.TB) *ssoBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &ssoBrowser{jar: jar, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get sends one GET and returns the response with its body read.
func (b *ssoBrowser) get(t testing.TB, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// toCallback starts a sign-in at flowd and follows it through the provider up to,
// not including, flowd's callback; it returns the callback URL.
func (b *ssoBrowser) toCallback(t testing.TB, base, returnTo string) string {
	t.Helper()
	resp, body := b.get(t, base+"/api/v1/auth/oidc/login?return_to="+url.QueryEscape(returnTo))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /api/v1/auth/oidc/login: HTTP %d %s", resp.StatusCode, body)
	}
	resp, body = b.get(t, resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("the provider's /authorize: HTTP %d %s", resp.StatusCode, body)
	}
	cb := resp.Header.Get("Location")
	if !strings.HasPrefix(cb, base+"/api/v1/auth/oidc/callback?") {
		t.Fatalf("the provider sent the browser to %s, not flowd's callback", cb)
	}
	return cb
}

// signIn goes through a whole sign-in and returns flowd's answer to the callback.
func (b *ssoBrowser) signIn(t testing.TB, base, returnTo string) (*http.Response, string) {
	t.Helper()
	return b.get(t, b.toCallback(t, base, returnTo))
}

// me returns GET /api/v1/auth/me with the browser's cookies.
func (b *ssoBrowser) me(t testing.TB, base string) (int, map[string]any) {
	t.Helper()
	resp, body := b.get(t, base+"/api/v1/auth/me")
	var out map[string]any
	_ = json.Unmarshal([]byte(body), &out)
	return resp.StatusCode, out
}

func (b *ssoBrowser) cookie(t testing.TB, base, name string) string {
	t.Helper()
	u, _ := url.Parse(base + "/api/v1/auth/oidc/callback")
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// startSSOFlowd starts an API-only flowd on b's Temporal with single sign-on
// through p as cfg adds.
func startSSOFlowd(t *testing.T, b *backend, p *oidcProvider, cfg app.Config) (*app.App, *client) {
	t.Helper()
	cfg.Addr, cfg.DataDir, cfg.TemporalAddress, cfg.Role, cfg.TaskQueue = "127.0.0.1:0", t.TempDir(), b.app.TemporalAddress, "api", "e2e-sso"
	cfg.SecretKey = testSecretKey // the key of the backends' database
	if b.name == "postgres" {
		cfg.DatabaseURL = os.Getenv("FLOWD_TEST_POSTGRES_URL")
	}
	cfg.OIDCIssuer, cfg.OIDCClientID, cfg.OIDCClientSecret, cfg.OIDCName = p.Issuer, "flowd-e2e", "flowd-e2e-secret", "Mock IdP"
	return startSignedIn(t, cfg)
}

// ssoRefused checks a callback answer that refuses the sign-in: status, a page that
// says why, and no session.
func ssoRefused(t *testing.T, resp *http.Response, body string, status int, says string, br *ssoBrowser, base string) {
	t.Helper()
	if resp.StatusCode != status || !strings.Contains(body, says) {
		t.Fatalf("callback: HTTP %d %s; want %d saying %q", resp.StatusCode, body, status, says)
	}
	if v := br.cookie(t, base, "flowd_session"); v != "" {
		t.Fatal("a refused sign-in set a session cookie")
	}
	if st, _ := br.me(t, base); st != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/auth/me after a refused sign-in: HTTP %d, want 401", st)
	}
}

// ssoAudit checks that the audit log has one entry for query whose detail has key
// set to want.
func ssoAudit(t *testing.T, admin *client, query, key, want string) {
	t.Helper()
	var page struct {
		Items []struct {
			Detail map[string]any `json:"detail"`
		} `json:"items"`
	}
	admin.must(t, "GET", "/api/v1/audit?"+query, nil, &page, 200)
	if len(page.Items) != 1 || page.Items[0].Detail[key] != want {
		t.Fatalf("GET /api/v1/audit?%s: %+v; want one entry with %s %q", query, page.Items, key, want)
	}
}

// TestSSO signs users in through a real OpenID Connect provider process: role from
// the groups claim, auto-provisioning, refusals that say why, and the abuse cases of
// the flow (forged and replayed state, wrong nonce, audience and issuer, an open
// redirect, a password user's name).
func TestSSO(t *testing.T) {
	p := startOIDCProvider(t)
	each(t, func(t *testing.T, b *backend) {
		_, admin := startSSOFlowd(t, b, p, app.Config{OIDCAutoProvision: true,
			OIDCRoleMap: map[string]string{"flowd-editors": "editor", "flowd-admins": "admin"}})
		base := admin.base

		var methods struct {
			OIDC *struct {
				Name     string `json:"name"`
				LoginURL string `json:"login_url"`
			} `json:"oidc"`
		}
		admin.must(t, "GET", "/api/v1/auth/methods", nil, &methods, 200)
		if methods.OIDC == nil || methods.OIDC.Name != "Mock IdP" || methods.OIDC.LoginURL != "/api/v1/auth/oidc/login" {
			t.Fatalf("GET /api/v1/auth/methods: oidc = %+v", methods.OIDC)
		}

		t.Run("EditorFromGroups", func(t *testing.T) {
			name := unique("ada")
			p.SetClaims(t, map[string]any{"preferred_username": name, "groups": []string{"other", "flowd-editors"}})
			br := newSSOBrowser(t)
			before := len(p.Requests(t))
			resp, body := br.signIn(t, base, "/executions?flow=orders")
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/executions?flow=orders" {
				t.Fatalf("callback: HTTP %d to %q %s; want 302 to the return_to path", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if br.cookie(t, base, "flowd_oidc") != "" {
				t.Fatal("the callback left the flow cookie flowd_oidc in place")
			}
			st, me := br.me(t, base)
			if st != 200 || me["kind"] != "user" || me["name"] != name || me["role"] != "editor" || me["csrf_token"] == "" {
				t.Fatalf("GET /api/v1/auth/me: HTTP %d %v; want user %s with role editor and a csrf_token", st, me, name)
			}
			var u engine.User
			admin.must(t, "GET", "/api/v1/users/"+name, nil, &u, 200)
			if u.Source != engine.UserSourceOIDC || u.Role != engine.RoleEditor {
				t.Fatalf("provisioned user: %+v; want source oidc, role editor", u)
			}

			ssoAudit(t, admin, "actor=user:"+name+"&action=user.create", "source", "oidc")
			ssoAudit(t, admin, "actor=user:"+name+"&action=session.login", "method", "oidc")

			// PKCE with S256: the provider saw a challenge, and the verifier sent to
			// /token matches it.
			reqs := p.Requests(t)[before:]
			if len(reqs) != 2 || reqs[0].Endpoint != "authorize" || reqs[1].Endpoint != "token" {
				t.Fatalf("the provider saw %+v; want one authorize and one token request", reqs)
			}
			az, tok := reqs[0].Params, reqs[1].Params
			if az["code_challenge_method"] != "S256" || az["code_challenge"] == "" || az["nonce"] == "" || az["state"] == "" {
				t.Fatalf("authorize request %v: want code_challenge with S256, a nonce and a state", az)
			}
			sum := sha256.Sum256([]byte(tok["code_verifier"]))
			if tok["code_verifier"] == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != az["code_challenge"] {
				t.Fatalf("token request %v: want the code_verifier of the challenge %s", tok, az["code_challenge"])
			}
			if !strings.Contains(az["scope"], "openid") || az["redirect_uri"] != base+"/api/v1/auth/oidc/callback" {
				t.Fatalf("authorize request %v: want scope openid and redirect_uri %s/api/v1/auth/oidc/callback", az, base)
			}

			// The groups decide the role at every sign-in.
			p.SetClaims(t, map[string]any{"preferred_username": name, "groups": "flowd-admins"})
			br2 := newSSOBrowser(t)
			if resp, body := br2.signIn(t, base, "/"); resp.StatusCode != http.StatusFound {
				t.Fatalf("second sign-in: HTTP %d %s", resp.StatusCode, body)
			}
			if _, me := br2.me(t, base); me["role"] != "admin" {
				t.Fatalf("after a sign-in in group flowd-admins (a string claim): role %v, want admin", me["role"])
			}
		})

		t.Run("NoRoleRefused", func(t *testing.T) {
			name := unique("stranger")
			p.SetClaims(t, map[string]any{"preferred_username": name, "groups": []string{"strangers"}})
			br := newSSOBrowser(t)
			resp, body := br.signIn(t, base, "/")
			ssoRefused(t, resp, body, http.StatusForbidden, "give you no role", br, base)
			admin.must(t, "GET", "/api/v1/users/"+name, nil, nil, 404)
			ssoAudit(t, admin, "action=session.login_failed&target="+name, "method", "oidc")
		})

		t.Run("DisabledRefused", func(t *testing.T) {
			name := unique("gone")
			p.SetClaims(t, map[string]any{"preferred_username": name, "groups": []string{"flowd-editors"}})
			if resp, body := newSSOBrowser(t).signIn(t, base, "/"); resp.StatusCode != http.StatusFound {
				t.Fatalf("first sign-in: HTTP %d %s", resp.StatusCode, body)
			}
			admin.must(t, "PATCH", "/api/v1/users/"+name, map[string]any{"disabled": true}, nil, 200)
			br := newSSOBrowser(t)
			resp, body := br.signIn(t, base, "/")
			ssoRefused(t, resp, body, http.StatusForbidden, "is disabled", br, base)
		})

		t.Run("PasswordUserNameRefused", func(t *testing.T) {
			// Whoever the provider calls by a password user's name must not become them.
			name := unique("local")
			admin.must(t, "POST", "/api/v1/users", map[string]any{"username": name, "password": "correct horse battery staple", "role": "admin"}, nil, 201)
			p.SetClaims(t, map[string]any{"preferred_username": name, "groups": []string{"flowd-admins"}})
			br := newSSOBrowser(t)
			resp, body := br.signIn(t, base, "/")
			ssoRefused(t, resp, body, http.StatusForbidden, "signs in with a password", br, base)
		})

		t.Run("ReturnToElsewhereIgnored", func(t *testing.T) {
			p.SetClaims(t, map[string]any{"preferred_username": unique("eve"), "groups": []string{"flowd-editors"}})
			for _, to := range []string{"https://evil.example", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
				resp, body := newSSOBrowser(t).signIn(t, base, to)
				if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
					t.Fatalf("return_to %q: HTTP %d to %q %s; want 302 to /", to, resp.StatusCode, resp.Header.Get("Location"), body)
				}
			}
		})

		t.Run("ForgedStateRefused", func(t *testing.T) {
			p.SetClaims(t, map[string]any{"preferred_username": unique("mallory"), "groups": []string{"flowd-editors"}})
			br := newSSOBrowser(t)
			cb, _ := url.Parse(br.toCallback(t, base, "/"))
			q := cb.Query()
			q.Set("state", "forged-"+q.Get("state"))
			cb.RawQuery = q.Encode()
			resp, body := br.get(t, cb.String())
			ssoRefused(t, resp, body, http.StatusBadRequest, "state mismatch", br, base)

			// A flow cookie that flowd did not seal.
			br = newSSOBrowser(t)
			cbURL := br.toCallback(t, base, "/")
			u, _ := url.Parse(base)
			br.jar.SetCookies(u, []*http.Cookie{{Name: "flowd_oidc", Value: "v1.0000000000000000.AAAA", Path: "/api/v1/auth/oidc"}})
			resp, body = br.get(t, cbURL)
			ssoRefused(t, resp, body, http.StatusBadRequest, "not one this server made", br, base)

			// A callback without the flow cookie: started in another browser (login CSRF).
			br = newSSOBrowser(t)
			resp, body = br.get(t, newSSOBrowser(t).toCallback(t, base, "/"))
			ssoRefused(t, resp, body, http.StatusBadRequest, "not started in this browser", br, base)
		})

		t.Run("ReplayedStateRefused", func(t *testing.T) {
			p.SetClaims(t, map[string]any{"preferred_username": unique("replay"), "groups": []string{"flowd-editors"}})
			br := newSSOBrowser(t)
			cb := br.toCallback(t, base, "/")
			flow := br.cookie(t, base, "flowd_oidc")
			if resp, body := br.get(t, cb); resp.StatusCode != http.StatusFound {
				t.Fatalf("sign-in: HTTP %d %s", resp.StatusCode, body)
			}
			// Someone who copied the flow cookie and the callback URL sends them again.
			again := newSSOBrowser(t)
			u, _ := url.Parse(base)
			again.jar.SetCookies(u, []*http.Cookie{{Name: "flowd_oidc", Value: flow, Path: "/api/v1/auth/oidc"}})
			resp, body := again.get(t, cb)
			ssoRefused(t, resp, body, http.StatusBadRequest, "already used", again, base)
		})

		t.Run("WrongNonceRefused", func(t *testing.T) {
			p.SetClaims(t, map[string]any{"preferred_username": unique("nonce"), "groups": []string{"flowd-editors"}, "nonce": "a-nonce-of-another-sign-in"})
			br := newSSOBrowser(t)
			resp, body := br.signIn(t, base, "/")
			ssoRefused(t, resp, body, http.StatusForbidden, "nonce mismatch", br, base)
		})

		t.Run("WrongAudienceRefused", func(t *testing.T) {
			p.SetClaims(t, map[string]any{"preferred_username": unique("aud"), "groups": []string{"flowd-editors"}, "aud": "another-client"})
			br := newSSOBrowser(t)
			resp, body := br.signIn(t, base, "/")
			ssoRefused(t, resp, body, http.StatusForbidden, "audience", br, base)
		})

		t.Run("WrongIssuerRefused", func(t *testing.T) {
			p.SetClaims(t, map[string]any{"preferred_username": unique("iss"), "groups": []string{"flowd-editors"}, "iss": "https://evil.example"})
			br := newSSOBrowser(t)
			resp, body := br.signIn(t, base, "/")
			ssoRefused(t, resp, body, http.StatusForbidden, "issued by a different provider", br, base)
		})
	})
}

// TestSSOWithoutAutoProvisioning: only users an admin created with source oidc
// sign in, with the role flowd keeps for them.
func TestSSOWithoutAutoProvisioning(t *testing.T) {
	p := startOIDCProvider(t)
	each(t, func(t *testing.T, b *backend) {
		_, admin := startSSOFlowd(t, b, p, app.Config{})
		base := admin.base

		t.Run("UnknownUserRefused", func(t *testing.T) {
			name := unique("nobody")
			p.SetClaims(t, map[string]any{"preferred_username": name})
			br := newSSOBrowser(t)
			resp, body := br.signIn(t, base, "/")
			ssoRefused(t, resp, body, http.StatusForbidden, "There is no user", br, base)
			admin.must(t, "GET", "/api/v1/users/"+name, nil, nil, 404)
		})

		t.Run("PreCreatedUser", func(t *testing.T) {
			name := unique("grace")
			// As an admin creates one ahead: no password, source oidc.
			admin.must(t, "POST", "/api/v1/users", map[string]any{"username": name, "role": "runner", "source": "oidc"}, nil, 201)
			admin.must(t, "POST", "/api/v1/users", map[string]any{"username": name + "x", "role": "runner", "source": "oidc", "password": "a-password-of-length"}, nil, 400)
			if st, _, msg := rawCallWith(t, &client{base: base}, "POST", "/api/v1/auth/login", `{"username": "`+name+`", "password": "any-password-at-all"}`); st != 401 {
				t.Errorf("password sign-in of an SSO user: HTTP %d %s; want 401", st, msg)
			}
			p.SetClaims(t, map[string]any{"preferred_username": name, "groups": []string{"whatever"}})
			br := newSSOBrowser(t)
			resp, body := br.signIn(t, base, "/flows")
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/flows" {
				t.Fatalf("callback: HTTP %d to %q %s", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			if st, me := br.me(t, base); st != 200 || me["name"] != name || me["role"] != "runner" {
				t.Fatalf("GET /api/v1/auth/me: HTTP %d %v; want %s as runner", st, me, name)
			}
		})
	})
}

// TestSSOProviderDown: flowd starts while its provider cannot be reached, and a
// sign-in then says so on a page instead of failing somewhere later.
func TestSSOProviderDown(t *testing.T) {
	down := &oidcProvider{Issuer: fmt.Sprintf("http://127.0.0.1:%d", freePort(t))}
	_, admin := startSSOFlowd(t, backends[0], down, app.Config{OIDCAutoProvision: true, OIDCDefaultRole: "viewer"})
	resp, body := newSSOBrowser(t).get(t, admin.base+"/api/v1/auth/oidc/login")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "cannot be reached") {
		t.Fatalf("GET /api/v1/auth/oidc/login with the provider down: HTTP %d %s; want 503 saying it cannot be reached", resp.StatusCode, body)
	}
}
