package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/secrets"
)

func testOIDC(t *testing.T, cfg OIDCConfig) *OIDC {
	t.Helper()
	keys, err := secrets.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "https://login.example.com"
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "flowd"
	}
	cfg.RedirectURL = "https://flowd.example.com" + OIDCCallbackPath
	o, err := NewOIDC(cfg, keys)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestOIDCSafeReturnTo(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/executions?flow=a&status=RUNNING", "/executions?flow=a&status=RUNNING"},
		{"/flows/orders#editor", "/flows/orders#editor"},
		{"https://evil.example", "/"},
		{"http://evil.example/", "/"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"flows", "/"},
		{"/a\r\nSet-Cookie: x=1", "/"},
		{OIDCLoginPath, "/"},
		{OIDCCallbackPath + "?code=x", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
	} {
		if got := safeReturnTo(tc.in); got != tc.want {
			t.Errorf("safeReturnTo(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestOIDCParseRoleMap(t *testing.T) {
	got, err := ParseRoleMap(" flowd-admins=admin, flowd-editors = editor,,")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["flowd-admins"] != engine.RoleAdmin || got["flowd-editors"] != engine.RoleEditor {
		t.Fatalf("got %v", got)
	}
	for _, bad := range []string{"flowd-admins", "=admin", "g=root", "g=admin,h"} {
		if _, err := ParseRoleMap(bad); err == nil {
			t.Errorf("ParseRoleMap(%q): no error", bad)
		}
	}
}

func TestOIDCRoleOf(t *testing.T) {
	m := map[string]engine.Role{"admins": engine.RoleAdmin, "editors": engine.RoleEditor, "viewers": engine.RoleViewer}
	for _, tc := range []struct {
		name   string
		claim  string
		def    engine.Role
		claims map[string]any
		want   engine.Role
	}{
		{"List", "groups", "", map[string]any{"groups": []any{"x", "editors"}}, engine.RoleEditor},
		{"MostPrivileged", "groups", "", map[string]any{"groups": []any{"viewers", "admins", "editors"}}, engine.RoleAdmin},
		{"String", "groups", "", map[string]any{"groups": "editors"}, engine.RoleEditor},
		{"Nested", "realm_access.roles", "", map[string]any{"realm_access": map[string]any{"roles": []any{"admins"}}}, engine.RoleAdmin},
		{"NoneNoDefault", "groups", "", map[string]any{"groups": []any{"x"}}, ""},
		{"NoneDefault", "groups", engine.RoleViewer, map[string]any{"groups": []any{"x"}}, engine.RoleViewer},
		{"Missing", "groups", "", map[string]any{}, ""},
		{"NotStrings", "groups", "", map[string]any{"groups": []any{1, true, map[string]any{}}}, ""},
		{"NestedNotObject", "a.b", "", map[string]any{"a": "admins"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOIDC(t, OIDCConfig{RoleClaim: tc.claim, RoleMap: m, DefaultRole: tc.def})
			if got := o.roleOf(tc.claims); got != tc.want {
				t.Fatalf("roleOf(%v) = %q, want %q", tc.claims, got, tc.want)
			}
		})
	}
}

func TestOIDCFlowCookie(t *testing.T) {
	o := testOIDC(t, OIDCConfig{})
	now := time.Now()
	f := oidcFlow{State: "s", Nonce: "n", Verifier: "v", ReturnTo: "/x", Expires: now.Add(time.Minute).Unix()}
	sealed, err := o.sealFlow(f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "\"v\"") {
		t.Fatal("the flow cookie shows its content")
	}
	t.Run("OK", func(t *testing.T) {
		got, err := o.openFlow(sealed, now)
		if err != nil || got != f {
			t.Fatalf("openFlow = %+v, %v; want %+v", got, err, f)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		if _, err := o.openFlow(sealed, now.Add(2*time.Minute)); err == nil || !strings.Contains(err.Error(), "longer than") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Altered", func(t *testing.T) {
		b := []byte(sealed)
		b[len(b)-3] ^= 1
		if _, err := o.openFlow(string(b), now); err == nil {
			t.Fatal("an altered cookie opened")
		}
	})
	t.Run("OtherServer", func(t *testing.T) {
		other, _ := secrets.NewKeyring([]byte("another-key-of-32-bytes-00000000"))
		v, _ := other.Seal(oidcFlowSealName, `{"s":"s","e":99999999999}`)
		if _, err := o.openFlow(v, now); err == nil {
			t.Fatal("a cookie sealed with another key opened")
		}
	})
	t.Run("SealedSecret", func(t *testing.T) {
		// A secret's sealed value (from a database dump) is no flow cookie.
		v, _ := o.keys.Seal("token", `{"s":"s","e":99999999999}`)
		if _, err := o.openFlow(v, now); err == nil {
			t.Fatal("a sealed secret opened as a flow")
		}
	})
}

func TestOIDCConsume(t *testing.T) {
	o := testOIDC(t, OIDCConfig{})
	now := time.Now()
	if !o.consume("a", now.Add(time.Minute), now) {
		t.Fatal("the first use was refused")
	}
	if o.consume("a", now.Add(time.Minute), now) {
		t.Fatal("a second use was allowed")
	}
	if !o.consume("b", now.Add(time.Minute), now) {
		t.Fatal("another state was refused")
	}
	// Expired states are forgotten (their cookies no longer open).
	o.consume("c", now.Add(3*time.Minute), now.Add(2*time.Minute))
	if _, kept := o.used["a"]; kept {
		t.Fatal("an expired state was kept")
	}
}

func TestNewOIDCErrors(t *testing.T) {
	keys, _ := secrets.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	ok := OIDCConfig{Issuer: "https://login.example.com", ClientID: "flowd", RedirectURL: "https://flowd.example.com/cb"}
	for _, tc := range []struct {
		name string
		edit func(*OIDCConfig)
		says string
	}{
		{"Issuer", func(c *OIDCConfig) { c.Issuer = "login.example.com" }, "FLOWD_OIDC_ISSUER"},
		{"ClientID", func(c *OIDCConfig) { c.ClientID = "" }, "FLOWD_OIDC_CLIENT_ID"},
		{"RedirectURL", func(c *OIDCConfig) { c.RedirectURL = "/cb" }, "--public-url"},
		{"RoleMap", func(c *OIDCConfig) { c.RoleMap = map[string]engine.Role{"g": "root"} }, "FLOWD_OIDC_ROLE_MAP"},
		{"DefaultRole", func(c *OIDCConfig) { c.DefaultRole = "root" }, "FLOWD_OIDC_DEFAULT_ROLE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			if _, err := NewOIDC(cfg, keys); err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v; want one naming %s", err, tc.says)
			}
		})
	}
	if _, err := NewOIDC(ok, keys); err != nil {
		t.Fatal(err)
	}
}

// memUsers is the part of engine.UserStore that sign-in uses, in memory.
type memUsers struct {
	engine.UserStore
	users map[string]engine.User
}

func (m *memUsers) GetUser(_ context.Context, name string) (engine.User, error) {
	u, ok := m.users[name]
	if !ok {
		return engine.User{}, engine.Errorf(engine.ENotFound, "no user %q", name)
	}
	return u, nil
}

func (m *memUsers) CreateUser(_ context.Context, u engine.User) error {
	if _, ok := m.users[u.Username]; ok {
		return engine.Errorf(engine.EConflict, "taken")
	}
	m.users[u.Username] = u
	return nil
}

func (m *memUsers) UpdateUser(_ context.Context, u engine.User) error {
	m.users[u.Username] = u
	return nil
}

func TestOIDCUser(t *testing.T) {
	groups := map[string]engine.Role{"editors": engine.RoleEditor, "admins": engine.RoleAdmin}
	existing := map[string]engine.User{
		"local":    {Username: "local", Role: engine.RoleAdmin, Source: engine.UserSourcePassword},
		"sso":      {Username: "sso", Role: engine.RoleViewer, Source: engine.UserSourceOIDC},
		"blocked":  {Username: "blocked", Role: engine.RoleEditor, Source: engine.UserSourceOIDC, Disabled: true},
		"promoted": {Username: "promoted", Role: engine.RoleEditor, Source: engine.UserSourceOIDC},
	}
	for _, tc := range []struct {
		name     string
		cfg      OIDCConfig
		claims   map[string]any
		wantRole engine.Role // "" wants a refusal saying refusal
		refusal  string
		change   string
	}{
		{"ProvisionedFromGroups", OIDCConfig{AutoProvision: true, RoleMap: groups}, map[string]any{"preferred_username": "new", "groups": []any{"editors"}}, engine.RoleEditor, "", "user.create"},
		{"ProvisionedByEmail", OIDCConfig{AutoProvision: true, DefaultRole: engine.RoleViewer}, map[string]any{"email": "ada@example.com", "sub": "123"}, engine.RoleViewer, "", "user.create"},
		{"ProvisionedNoRole", OIDCConfig{AutoProvision: true, RoleMap: groups}, map[string]any{"preferred_username": "new", "groups": []any{"x"}}, "", "give you no role", ""},
		{"NotProvisioned", OIDCConfig{RoleMap: groups}, map[string]any{"preferred_username": "new", "groups": []any{"editors"}}, "", "no user \"new\"", ""},
		{"PasswordUser", OIDCConfig{AutoProvision: true, RoleMap: groups}, map[string]any{"preferred_username": "local", "groups": []any{"admins"}}, "", "signs in with a password", ""},
		{"Disabled", OIDCConfig{RoleMap: groups}, map[string]any{"preferred_username": "blocked", "groups": []any{"editors"}}, "", "is disabled", ""},
		{"RoleFromGroups", OIDCConfig{RoleMap: groups}, map[string]any{"preferred_username": "sso", "groups": []any{"admins"}}, engine.RoleAdmin, "", "user.update"},
		{"GroupsLost", OIDCConfig{RoleMap: groups}, map[string]any{"preferred_username": "sso", "groups": []any{}}, "", "give you no role", ""},
		{"RoleKeptInFlowd", OIDCConfig{}, map[string]any{"preferred_username": "sso"}, engine.RoleViewer, "", ""},
		{"DefaultRoleOnlyForNew", OIDCConfig{AutoProvision: true, DefaultRole: engine.RoleViewer}, map[string]any{"preferred_username": "promoted"}, engine.RoleEditor, "", ""},
		{"DefaultRoleWithMap", OIDCConfig{RoleMap: groups, DefaultRole: engine.RoleRunner}, map[string]any{"preferred_username": "promoted", "groups": []any{"x"}}, engine.RoleRunner, "", "user.update"},
		{"NoName", OIDCConfig{AutoProvision: true}, map[string]any{"groups": []any{"editors"}}, "", "names no user", ""},
		{"BadName", OIDCConfig{AutoProvision: true, DefaultRole: engine.RoleViewer}, map[string]any{"sub": "a b/c"}, "", "cannot take as a username", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &memUsers{users: map[string]engine.User{}}
			for k, v := range existing {
				st.users[k] = v
			}
			o := testOIDC(t, tc.cfg)
			u, change, err := o.user(context.Background(), st, tc.claims)
			if tc.wantRole == "" {
				var r *oidcRefusal
				if !errors.As(err, &r) || !strings.Contains(r.message, tc.refusal) {
					t.Fatalf("err = %v; want a refusal saying %q", err, tc.refusal)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if change != tc.change {
				t.Errorf("change = %q, want %q", change, tc.change)
			}
			stored := st.users[u.Username]
			if u.Role != tc.wantRole || stored.Role != tc.wantRole || stored.Source != engine.UserSourceOIDC {
				t.Fatalf("user %+v, stored %+v; want role %s, source oidc", u, stored, tc.wantRole)
			}
		})
	}
}

func TestOIDCNotConfigured(t *testing.T) {
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: NewMetrics()}
	for _, p := range []string{OIDCLoginPath, OIDCCallbackPath + "?code=x&state=y"} {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "not configured") {
			t.Errorf("GET %s without OIDC: HTTP %d %s", p, rec.Code, rec.Body)
		}
	}
}
