package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowd/flowd/internal/app"
)

// browser is a web browser as the API sees one: a cookie jar, the CSRF token of its
// session, and optionally an Origin header.
type browser struct {
	base   string
	hc     *http.Client
	csrf   string
	origin string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	// From a loopback address of its own, so that its failed sign-ins count against
	// no other test's address.
	hc := from(newLoopback())
	hc.Jar = jar
	return &browser{base: base, hc: hc}
}

// tab returns another tab of the same browser: the same cookies, no CSRF token
// until it asks GET /api/v1/auth/me, as the web UI does after a reload.
func (b *browser) tab() *browser { return &browser{base: b.base, hc: b.hc} }

// send sends a request with the extra headers, in as JSON (a string as it is), and
// returns the status, the headers and the body.
func (b *browser) send(method, path string, in any, hdr map[string]string) (int, http.Header, []byte, error) {
	var body io.Reader
	if s, ok := in.(string); ok {
		body = strings.NewReader(s) // sent as it is, as client.call does
	} else if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return 0, nil, nil, err
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, data, err
}

// call sends a request with the session's CSRF token (when it has one) and decodes
// the answer into out.
func (b *browser) call(method, path string, in, out any) (int, error) {
	hdr := map[string]string{}
	if b.csrf != "" {
		hdr["X-CSRF-Token"] = b.csrf
	}
	st, _, data, err := b.send(method, path, in, hdr)
	if err != nil {
		return st, err
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return st, fmt.Errorf("%s %s: HTTP %d, body not JSON: %q", method, path, st, data)
		}
	}
	return st, nil
}

func (b *browser) must(t *testing.T, method, path string, in, out any, want int) {
	t.Helper()
	var raw json.RawMessage
	st, err := b.call(method, path, in, &raw)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if st != want {
		t.Fatalf("%s %s: HTTP %d, want %d: %s", method, path, st, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// fails sends a request that must fail with status and a message holding want.
func (b *browser) fails(t *testing.T, method, path string, in any, status int, want string) {
	t.Helper()
	var e apiError
	st, err := b.call(method, path, in, &e)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if st != status || !strings.Contains(e.Error.Message, want) {
		t.Fatalf("%s %s: HTTP %d %q, want %d with %q", method, path, st, e.Error.Message, status, want)
	}
}

type loginAnswer struct {
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	CSRFToken string    `json:"csrf_token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// signIn signs the browser in and returns the Set-Cookie header of the answer.
func (b *browser) signIn(t *testing.T, username, password string) string {
	t.Helper()
	st, hdr, data, err := b.send("POST", "/api/v1/auth/login", map[string]string{"username": username, "password": password}, nil)
	if err != nil || st != 200 {
		t.Fatalf("sign in as %s: HTTP %d %v: %s", username, st, err, data)
	}
	var ans loginAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Username != username || ans.CSRFToken == "" || ans.ExpiresAt.IsZero() {
		t.Fatalf("sign in as %s: %s", username, data)
	}
	b.csrf = ans.CSRFToken
	return hdr.Get("Set-Cookie")
}

type userJSON struct {
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	Source    string    `json:"source"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type meJSON struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	CSRFToken string `json:"csrf_token"`
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Address    string    `json:"address"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

const userPassword = "correct horse battery"

// newUser creates a user with userPassword through the admin client and returns
// its username.
func newUser(t *testing.T, admin *client, prefix, role string) string {
	t.Helper()
	name := unique(prefix)
	var u userJSON
	admin.must(t, "POST", "/api/v1/users", map[string]string{"username": name, "password": userPassword, "role": role}, &u, 201)
	if u.Username != name || u.Role != role || u.Source != "password" || u.Disabled || u.CreatedAt.IsZero() {
		t.Fatalf("created user: %+v", u)
	}
	return name
}

func sessionsOf(t *testing.T, b *browser) []sessionJSON {
	t.Helper()
	var page struct {
		Items []sessionJSON `json:"items"`
	}
	b.must(t, "GET", "/api/v1/auth/sessions", nil, &page, 200)
	return page.Items
}

func TestUsersCRUD(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		admin := b.api
		name := newUser(t, admin, "crud", "editor")

		var e apiError
		st, _ := admin.call("POST", "/api/v1/users", map[string]string{"username": unique("short"), "password": "elevenchars", "role": "viewer"}, &e)
		if st != 400 || !strings.Contains(e.Error.Message, "at least 12") {
			t.Errorf("an 11-character password: HTTP %d %q, want 400 saying at least 12", st, e.Error.Message)
		}
		st, _ = admin.call("POST", "/api/v1/users", map[string]string{"username": unique("role"), "password": userPassword, "role": "owner"}, &e)
		if st != 400 || !strings.Contains(e.Error.Message, "admin, editor, runner, viewer") {
			t.Errorf("an unknown role: HTTP %d %q", st, e.Error.Message)
		}
		st, _ = admin.call("POST", "/api/v1/users", map[string]string{"username": "no spaces", "password": userPassword, "role": "viewer"}, &e)
		if st != 400 || !strings.Contains(e.Error.Message, "username") {
			t.Errorf("a username with a space: HTTP %d %q", st, e.Error.Message)
		}
		st, _ = admin.call("POST", "/api/v1/users", map[string]string{"username": name, "password": userPassword, "role": "viewer"}, &e)
		if st != 409 {
			t.Errorf("a taken username: HTTP %d %q, want 409", st, e.Error.Message)
		}

		var list struct {
			Items []userJSON `json:"items"`
		}
		admin.must(t, "GET", "/api/v1/users", nil, &list, 200)
		found := false
		for _, u := range list.Items {
			found = found || (u.Username == name && u.Role == "editor")
		}
		if !found {
			t.Fatalf("GET /api/v1/users does not list %s: %+v", name, list.Items)
		}
		var u userJSON
		admin.must(t, "GET", "/api/v1/users/"+name, nil, &u, 200)
		if u.Role != "editor" {
			t.Fatalf("GET the user: %+v", u)
		}
		admin.must(t, "PATCH", "/api/v1/users/"+name, map[string]any{"role": "viewer"}, &u, 200)
		if u.Role != "viewer" || !u.UpdatedAt.After(u.CreatedAt) && !u.UpdatedAt.Equal(u.CreatedAt) {
			t.Fatalf("after PATCH role viewer: %+v", u)
		}
		st, _ = admin.call("PATCH", "/api/v1/users/"+name, map[string]any{"password": "short"}, &e)
		if st != 400 || !strings.Contains(e.Error.Message, "at least 12") {
			t.Errorf("a reset to a short password: HTTP %d %q", st, e.Error.Message)
		}
		admin.must(t, "DELETE", "/api/v1/users/"+name, nil, nil, 204)
		admin.must(t, "GET", "/api/v1/users/"+name, nil, nil, 404)
		admin.must(t, "DELETE", "/api/v1/users/"+name, nil, nil, 404)
	})
}

func TestUsersRoles(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		flow := unique("userroles")
		pushFlow(t, b.api, flow, `function handler() { return {}; }`)
		for _, role := range []string{"viewer", "runner", "editor"} {
			t.Run(role, func(t *testing.T) {
				name := newUser(t, b.api, role, role)
				br := newBrowser(t, b.app.URL)
				br.signIn(t, name, userPassword)
				var me meJSON
				br.must(t, "GET", "/api/v1/auth/me", nil, &me, 200)
				if me.Kind != "user" || me.Name != name || me.Role != role || me.CSRFToken != br.csrf {
					t.Fatalf("GET /api/v1/auth/me: %+v", me)
				}
				br.fails(t, "GET", "/api/v1/users", nil, 403, "admin role")
				br.fails(t, "POST", "/api/v1/users", map[string]string{"username": unique("x"), "password": userPassword, "role": "admin"}, 403, "admin role")
				br.fails(t, "PATCH", "/api/v1/users/"+name, map[string]any{"role": "admin"}, 403, "admin role")
				br.fails(t, "DELETE", "/api/v1/users/"+name, nil, 403, "admin role")
				br.fails(t, "GET", "/api/v1/clients", nil, 403, "admin role")
				br.must(t, "GET", "/api/v1/flows/"+flow, nil, nil, 200)
				save := map[string]string{"script": `function handler() { return {by: "` + role + `"}; }`}
				if role == "editor" {
					br.must(t, "PUT", "/api/v1/flows/"+flow, save, nil, 200)
				} else {
					br.fails(t, "PUT", "/api/v1/flows/"+flow, save, 403, "editor role")
				}
				if role == "viewer" {
					br.fails(t, "POST", "/api/v1/flows/"+flow+"/executions", map[string]any{}, 403, "runner role")
				}
			})
		}
		// An admin user manages users like the admin client.
		name := newUser(t, b.api, "admin", "admin")
		br := newBrowser(t, b.app.URL)
		br.signIn(t, name, userPassword)
		other := unique("byadmin")
		br.must(t, "POST", "/api/v1/users", map[string]string{"username": other, "password": userPassword, "role": "viewer"}, nil, 201)
		br.must(t, "DELETE", "/api/v1/users/"+other, nil, nil, 204)
		b.api.must(t, "DELETE", "/api/v1/users/"+name, nil, nil, 204)
	})
}

func TestSessionsCookieAndCSRF(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name := newUser(t, b.api, "csrf", "editor")
		br := newBrowser(t, b.app.URL)

		// An unknown user and a wrong password get the same answer.
		var unknown, wrong apiError
		stU, _ := br.call("POST", "/api/v1/auth/login", map[string]string{"username": unique("nobody"), "password": userPassword}, &unknown)
		stW, _ := br.call("POST", "/api/v1/auth/login", map[string]string{"username": name, "password": userPassword + "!"}, &wrong)
		if stU != 401 || stW != 401 || unknown != wrong {
			t.Fatalf("unknown user: HTTP %d %+v; wrong password: HTTP %d %+v; want the same 401", stU, unknown, stW, wrong)
		}

		setCookie := br.signIn(t, name, userPassword)
		for _, want := range []string{"flowd_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(setCookie, want) {
				t.Errorf("Set-Cookie %q lacks %s", setCookie, want)
			}
		}
		if strings.Contains(setCookie, "Secure") {
			t.Errorf("Set-Cookie %q is Secure over plain HTTP from no trusted proxy", setCookie)
		}
		flow := unique("csrf")
		save := map[string]string{"script": `function handler() { return {}; }`}
		pushFlow(t, b.api, flow, save["script"])

		// Another tab of the same browser: the cookie works, and GET /auth/me gives
		// the CSRF token back.
		tab := br.tab()
		tab.fails(t, "PUT", "/api/v1/flows/"+flow, save, 403, "X-CSRF-Token")
		var me meJSON
		tab.must(t, "GET", "/api/v1/auth/me", nil, &me, 200)
		if me.Name != name || me.CSRFToken != br.csrf {
			t.Fatalf("GET /api/v1/auth/me in a second tab: %+v, want csrf_token %q", me, br.csrf)
		}
		tab.csrf = me.CSRFToken
		tab.must(t, "PUT", "/api/v1/flows/"+flow, save, nil, 200)

		// A wrong token, and a cross-site Origin even with the right token.
		forged := br.tab()
		forged.csrf = "forged"
		forged.fails(t, "PUT", "/api/v1/flows/"+flow, save, 403, "X-CSRF-Token")
		forged.fails(t, "DELETE", "/api/v1/flows/"+flow, nil, 403, "X-CSRF-Token")
		cross := br.tab()
		cross.csrf, cross.origin = br.csrf, "https://evil.example"
		cross.fails(t, "PUT", "/api/v1/flows/"+flow, save, 403, "cross-site")
		cross.fails(t, "POST", "/api/v1/auth/logout", nil, 403, "cross-site")
		cross.fails(t, "POST", "/api/v1/auth/login", map[string]string{"username": name, "password": userPassword}, 403, "cross-site sign-in")
		same := br.tab()
		same.csrf, same.origin = br.csrf, b.app.URL
		same.must(t, "PUT", "/api/v1/flows/"+flow, save, nil, 200)

		// A bearer token ignores cookies: no CSRF token is needed, and it acts as the client.
		bearer := br.tab()
		st, _, data, err := bearer.send("PUT", "/api/v1/flows/"+flow, save, map[string]string{"Authorization": "Bearer " + b.api.token})
		if err != nil || st != 200 {
			t.Fatalf("a bearer request with the session cookie and no CSRF token: HTTP %d %v %s", st, err, data)
		}
		_, _, data, _ = bearer.send("GET", "/api/v1/auth/me", nil, map[string]string{"Authorization": "Bearer " + b.api.token})
		if !strings.Contains(string(data), `"kind":"client"`) || strings.Contains(string(data), "csrf_token") {
			t.Fatalf("GET /api/v1/auth/me with a bearer token and a session cookie: %s", data)
		}
		st, _, _, _ = bearer.send("GET", "/api/v1/auth/me", nil, map[string]string{"Authorization": "Bearer not-a-token"})
		if st != 401 {
			t.Fatalf("a wrong bearer token with a valid session cookie: HTTP %d, want 401", st)
		}

		// Logout clears the cookie in every tab, and ends the session on the server: a
		// copy of the cookie kept elsewhere no longer works.
		u, _ := url.Parse(b.app.URL)
		kept := br.hc.Jar.Cookies(u)
		br.must(t, "POST", "/api/v1/auth/logout", nil, nil, 204)
		tab.fails(t, "GET", "/api/v1/auth/me", nil, 401, "sign in")
		if len(br.hc.Jar.Cookies(u)) != 0 {
			t.Errorf("the cookie is still set after logout: %v", br.hc.Jar.Cookies(u))
		}
		copied := newBrowser(t, b.app.URL)
		copied.hc.Jar.SetCookies(u, kept)
		copied.fails(t, "GET", "/api/v1/auth/me", nil, 401, "sign in again")
		stale := newBrowser(t, b.app.URL)
		stale.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "flowd_session", Value: "made-up"}})
		stale.fails(t, "GET", "/api/v1/flows", nil, 401, "sign in again")
	})
}

func TestSessionsListAndRevoke(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		alice := newUser(t, b.api, "alice", "viewer")
		bob := newUser(t, b.api, "bob", "viewer")
		laptop, phone, bobs := newBrowser(t, b.app.URL), newBrowser(t, b.app.URL), newBrowser(t, b.app.URL)
		laptop.signIn(t, alice, userPassword)
		phone.signIn(t, alice, userPassword)
		bobs.signIn(t, bob, userPassword)

		list := sessionsOf(t, laptop)
		if len(list) != 2 {
			t.Fatalf("alice's sessions: %+v, want 2", list)
		}
		var current, other sessionJSON
		for _, s := range list {
			if s.Current {
				current = s
			} else {
				other = s
			}
		}
		if current.ID == "" || other.ID == "" || current.Address == "" || current.ExpiresAt.Before(time.Now()) {
			t.Fatalf("alice's sessions: %+v, want one current and one other", list)
		}
		bobList := sessionsOf(t, bobs)
		if len(bobList) != 1 || bobList[0].ID == current.ID || bobList[0].ID == other.ID {
			t.Fatalf("bob's sessions: %+v, want only his own", bobList)
		}
		// Nobody revokes another user's session; an admin client has none.
		bobs.fails(t, "DELETE", "/api/v1/auth/sessions/"+other.ID, nil, 404, "no session")
		b.api.must(t, "DELETE", "/api/v1/auth/sessions/"+other.ID, nil, nil, 404)
		phone.must(t, "GET", "/api/v1/auth/me", nil, nil, 200)

		laptop.must(t, "DELETE", "/api/v1/auth/sessions/"+other.ID, nil, nil, 204)
		phone.fails(t, "GET", "/api/v1/auth/me", nil, 401, "sign in again")
		if list := sessionsOf(t, laptop); len(list) != 1 || list[0].ID != current.ID {
			t.Fatalf("alice's sessions after revoking the phone's: %+v", list)
		}
		// Revoking one's current session signs out (and clears the cookie).
		laptop.must(t, "DELETE", "/api/v1/auth/sessions/"+current.ID, nil, nil, 204)
		laptop.fails(t, "GET", "/api/v1/auth/me", nil, 401, "sign in")
		bobs.must(t, "GET", "/api/v1/auth/me", nil, nil, 200)
	})
}

func TestUsersPasswordResetAndDisable(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name := newUser(t, b.api, "reset", "editor")
		br := newBrowser(t, b.app.URL)
		br.signIn(t, name, userPassword)
		const newPassword = "a whole new passphrase"
		b.api.must(t, "PATCH", "/api/v1/users/"+name, map[string]any{"password": newPassword}, nil, 200)
		br.fails(t, "GET", "/api/v1/auth/me", nil, 401, "sign in again")
		br.fails(t, "POST", "/api/v1/auth/login", map[string]string{"username": name, "password": userPassword}, 401, "wrong username or password")
		br.signIn(t, name, newPassword)

		// A role change counts at once, in the running session.
		b.api.must(t, "PATCH", "/api/v1/users/"+name, map[string]any{"role": "viewer"}, nil, 200)
		br.fails(t, "PUT", "/api/v1/flows/"+unique("demoted"), map[string]string{"script": `function handler() { return {}; }`}, 403, "editor role")

		b.api.must(t, "PATCH", "/api/v1/users/"+name, map[string]any{"disabled": true}, nil, 200)
		br.fails(t, "GET", "/api/v1/auth/me", nil, 401, "sign in again")
		br.fails(t, "POST", "/api/v1/auth/login", map[string]string{"username": name, "password": newPassword}, 403, "disabled")
		b.api.must(t, "PATCH", "/api/v1/users/"+name, map[string]any{"disabled": false}, nil, 200)
		br.signIn(t, name, newPassword)

		// Deleting the user ends its sessions.
		b.api.must(t, "DELETE", "/api/v1/users/"+name, nil, nil, 204)
		br.fails(t, "GET", "/api/v1/auth/me", nil, 401, "sign in again")
	})
}

// startUsersAPI starts an API-only flowd on a database of its own (so that its
// bootstrap admin user is new and its sign-in limits count only this test), as cfg
// says otherwise.
func startUsersAPI(t *testing.T, b *backend, cfg app.Config) (*app.App, *client, *isolated) {
	t.Helper()
	iso := newIsolated(t, b)
	cfg.Addr, cfg.DataDir, cfg.DatabaseURL, cfg.TemporalAddress = "127.0.0.1:0", iso.dir, iso.dbURL, b.app.TemporalAddress
	cfg.Role, cfg.TaskQueue = "api", "e2e-users"
	a, c := startSignedIn(t, cfg)
	return a, c, iso
}

func TestUsersBootstrapAndLastAdmin(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		a, admin, _ := startUsersAPI(t, b, app.Config{})
		if a.AdminUser != "admin" || len(a.AdminPassword) < 12 {
			t.Fatalf("the first start created user %q with password %q; want admin with a generated password", a.AdminUser, a.AdminPassword)
		}
		br := newBrowser(t, a.URL)
		br.signIn(t, "admin", a.AdminPassword)

		// The last enabled admin user stays.
		br.fails(t, "PATCH", "/api/v1/users/admin", map[string]any{"role": "editor"}, 409, "last enabled admin")
		br.fails(t, "PATCH", "/api/v1/users/admin", map[string]any{"disabled": true}, 409, "last enabled admin")
		br.fails(t, "DELETE", "/api/v1/users/admin", nil, 409, "last enabled admin")
		second := newUser(t, admin, "second", "admin")
		br.must(t, "PATCH", "/api/v1/users/admin", map[string]any{"role": "editor"}, nil, 200)
		admin.must(t, "DELETE", "/api/v1/users/"+second, nil, nil, 409)
	})
}

func TestUsersBootstrapGiven(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		a, _, iso := startUsersAPI(t, b, app.Config{AdminUser: "ops", AdminPassword: "given admin password"})
		if a.AdminPassword != "" {
			t.Fatalf("a given admin password was reported as generated: %q", a.AdminPassword)
		}
		newBrowser(t, a.URL).signIn(t, "ops", "given admin password")
		a.Stop()
		// Every start resets it to the given password.
		a2, _ := startSignedIn(t, app.Config{Addr: "127.0.0.1:0", DataDir: iso.dir, DatabaseURL: iso.dbURL, TemporalAddress: b.app.TemporalAddress,
			Role: "api", TaskQueue: "e2e-users", AdminUser: "ops", AdminPassword: "the changed admin password"})
		br := newBrowser(t, a2.URL)
		br.fails(t, "POST", "/api/v1/auth/login", map[string]string{"username": "ops", "password": "given admin password"}, 401, "wrong username or password")
		br.signIn(t, "ops", "the changed admin password")

		_, _, err := startFlowd(app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), TemporalAddress: b.app.TemporalAddress,
			Role: "api", TaskQueue: "e2e-users", AdminPassword: "too short"})
		if err == nil || !strings.Contains(err.Error(), "FLOWD_ADMIN_PASSWORD") || !strings.Contains(err.Error(), "at least 12") {
			t.Fatalf("a start with a short FLOWD_ADMIN_PASSWORD: %v", err)
		}
	})
}

// argon2idPHC is the stored form of a password: argon2id with its parameters and a
// salt of its own.
var argon2idPHC = regexp.MustCompile(`^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestUsersStoredSecrets(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		a, admin, iso := startUsersAPI(t, b, app.Config{})
		one, two := newUser(t, admin, "hash", "viewer"), newUser(t, admin, "hash", "viewer")
		q := "SELECT password_hash FROM users WHERE username = ?"
		if b.name == "postgres" {
			q = pgPlaceholders(q)
		}
		var h1, h2 string
		if err := iso.sql.QueryRow(q, one).Scan(&h1); err != nil {
			t.Fatal(err)
		}
		if err := iso.sql.QueryRow(q, two).Scan(&h2); err != nil {
			t.Fatal(err)
		}
		if !argon2idPHC.MatchString(h1) || !argon2idPHC.MatchString(h2) {
			t.Fatalf("stored hashes %q, %q are not argon2id PHC strings", h1, h2)
		}
		if h1 == h2 {
			t.Fatalf("two users with the same password have the same hash %q: no salt of their own", h1)
		}

		// The session row holds the cookie value's SHA-256, never the value.
		br := newBrowser(t, a.URL)
		br.signIn(t, one, userPassword)
		u, _ := url.Parse(a.URL)
		var cookie string
		for _, c := range br.hc.Jar.Cookies(u) {
			if c.Name == "flowd_session" {
				cookie = c.Value
			}
		}
		if raw, err := base64.RawURLEncoding.DecodeString(cookie); err != nil || len(raw) != 32 {
			t.Fatalf("the session cookie %q is not 32 random bytes: %d %v", cookie, len(raw), err)
		}
		rows, err := iso.sql.Query("SELECT token_hash FROM sessions")
		if err != nil {
			t.Fatal(err)
		}
		var hashes []string
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				t.Fatal(err)
			}
			hashes = append(hashes, h)
		}
		rows.Close()
		sum := sha256.Sum256([]byte(cookie))
		if len(hashes) != 1 || hashes[0] != hex.EncodeToString(sum[:]) {
			t.Fatalf("sessions.token_hash %v, want only the SHA-256 of the cookie", hashes)
		}

		// No route returns a hash or a password.
		var bodies []string
		for _, p := range []string{"/api/v1/users", "/api/v1/users/" + one} {
			var raw json.RawMessage
			admin.must(t, "GET", p, nil, &raw, 200)
			bodies = append(bodies, string(raw))
		}
		var raw json.RawMessage
		admin.must(t, "PATCH", "/api/v1/users/"+two, map[string]any{"password": "yet another passphrase"}, &raw, 200)
		bodies = append(bodies, string(raw))
		admin.must(t, "POST", "/api/v1/users", map[string]string{"username": unique("hash"), "password": userPassword, "role": "viewer"}, &raw, 201)
		bodies = append(bodies, string(raw))
		for _, p := range []string{"/api/v1/auth/me", "/api/v1/auth/sessions"} {
			br.must(t, "GET", p, nil, &raw, 200)
			bodies = append(bodies, string(raw))
		}
		for _, body := range bodies {
			for _, bad := range []string{"argon2", `"password":`, "password_hash", userPassword, cookie, hashes[0]} {
				if strings.Contains(body, bad) {
					t.Errorf("an answer holds %q: %s", bad, body)
				}
			}
		}
	})
}

func TestUsersSignInLimits(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		a, admin, _ := startUsersAPI(t, b, app.Config{TrustedProxies: []string{"127.0.0.0/8"}})
		victim := newUser(t, admin, "victim", "viewer")
		from := func(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }
		br := newBrowser(t, a.URL)
		login := func(user, password, addr string) (int, http.Header, string) {
			st, hdr, data, err := br.send("POST", "/api/v1/auth/login", map[string]string{"username": user, "password": password}, from(addr))
			if err != nil {
				t.Fatal(err)
			}
			return st, hdr, string(data)
		}

		// One account: 10 wrong passwords from 10 addresses lock it, even for the right
		// password from an 11th address.
		for i := range 10 {
			if st, _, body := login(victim, "wrong password "+fmt.Sprint(i), fmt.Sprintf("10.1.0.%d", i+1)); st != 401 {
				t.Fatalf("wrong password #%d: HTTP %d %s, want 401", i+1, st, body)
			}
		}
		st, hdr, body := login(victim, userPassword, "10.1.0.99")
		if st != 429 || hdr.Get("Retry-After") == "" || !strings.Contains(body, "too many failed sign-ins") {
			t.Fatalf("the right password after 10 failures for the account: HTTP %d Retry-After %q %s, want 429", st, hdr.Get("Retry-After"), body)
		}
		// Another account from those addresses still signs in.
		other := newUser(t, admin, "other", "viewer")
		if st, _, body := login(other, userPassword, "10.1.0.1"); st != 200 {
			t.Fatalf("another account: HTTP %d %s, want 200", st, body)
		}

		// One address: 10 failures across made-up accounts limit it for every account.
		for i := range 10 {
			if st, _, body := login(unique("guess"), "wrong password", "10.2.0.1"); st != 401 {
				t.Fatalf("failure #%d from one address: HTTP %d %s, want 401", i+1, st, body)
			}
		}
		st, hdr, body = login(other, userPassword, "10.2.0.1")
		if st != 429 || hdr.Get("Retry-After") == "" {
			t.Fatalf("the right password from an address with 10 failures: HTTP %d Retry-After %q %s, want 429", st, hdr.Get("Retry-After"), body)
		}
		if st, _, body := login(other, userPassword, "10.2.0.2"); st != 200 {
			t.Fatalf("another address: HTTP %d %s, want 200", st, body)
		}

		// Secure cookies behind a trusted TLS proxy, and only then.
		_, hdr, _, err := br.send("POST", "/api/v1/auth/login", map[string]string{"username": other, "password": userPassword},
			map[string]string{"X-Forwarded-For": "10.3.0.1", "X-Forwarded-Proto": "https"})
		if err != nil || !strings.Contains(hdr.Get("Set-Cookie"), "Secure") {
			t.Fatalf("sign-in through a trusted proxy that says https: Set-Cookie %q (%v), want Secure", hdr.Get("Set-Cookie"), err)
		}
	})
}

func TestSessionsTimeouts(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		a, admin, _ := startUsersAPI(t, b, app.Config{SessionIdle: 2 * time.Second, SessionMax: 6 * time.Second})
		name := newUser(t, admin, "timeout", "viewer")
		busy, idle := newBrowser(t, a.URL), newBrowser(t, a.URL)
		busy.signIn(t, name, userPassword)
		idle.signIn(t, name, userPassword)
		if n := len(sessionsOf(t, busy)); n != 2 {
			t.Fatalf("%d sessions, want 2", n)
		}
		// The idle session ends; the one in use goes on.
		eventually(t, 30*time.Second, "the unused session ends at the idle timeout", func() (bool, string) {
			list := sessionsOf(t, busy)
			return len(list) == 1 && list[0].Current, fmt.Sprintf("%+v", list)
		})
		idle.fails(t, "GET", "/api/v1/auth/me", nil, 401, "expired; sign in again")
		// The session in use ends at the absolute timeout.
		eventually(t, 30*time.Second, "the session in use ends at the absolute timeout", func() (bool, string) {
			var e apiError
			st, err := busy.call("GET", "/api/v1/auth/me", nil, &e)
			return st == 401 && strings.Contains(e.Error.Message, "sign in again"), fmt.Sprintf("HTTP %d %v %q", st, err, e.Error.Message)
		})
	})
}

// syncBuffer is a bytes.Buffer that a process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var printedPassword = regexp.MustCompile(`(?m)^\s*password: (\S+)$`)

// TestUsersFirstStartPrintsPassword runs the flowd program twice on one data dir:
// the first start creates the admin user and prints its password, the second does not.
func TestUsersFirstStartPrintsPassword(t *testing.T) {
	dir := t.TempDir()
	serve := func() (string, *syncBuffer, func()) {
		port := freePort(t)
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		cmd := flowdCommand(t, []string{"FLOWD_SECRET_KEY=" + testSecretKey}, "serve", "--data-dir", dir,
			"--addr", fmt.Sprintf("127.0.0.1:%d", port), "--role", "api", "--temporal-address", backends[0].app.TemporalAddress, "--task-queue", "e2e-users")
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		stop := func() {
			once.Do(func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				_ = cmd.Wait()
			})
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("flowd output:\n%s", out)
			}
		})
		eventually(t, 60*time.Second, "flowd says it is running", func() (bool, string) {
			return strings.Contains(out.String(), "flowd is running"), out.String()
		})
		return base, out, stop
	}
	base, out, stop := serve()
	m := printedPassword.FindStringSubmatch(out.String())
	if m == nil || !strings.Contains(out.String(), "username: admin") {
		t.Fatalf("the first start printed no admin user and password:\n%s", out)
	}
	newBrowser(t, base).signIn(t, "admin", m[1])
	stop()

	base, out, _ = serve()
	if printedPassword.MatchString(out.String()) || strings.Contains(out.String(), m[1]) {
		t.Fatalf("the second start printed a password again:\n%s", out)
	}
	newBrowser(t, base).signIn(t, "admin", m[1])
}
