package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// roleRank orders the roles as the API does; "none" is a request without a token.
var roleRank = map[string]int{"none": 0, "viewer": 1, "runner": 2, "editor": 3, "admin": 4}

var pathParamRE = regexp.MustCompile(`\{[^}]+\}`)

// TestAuthorizationMatrix sends every operation of the served OpenAPI document as
// every role and without a token, and checks the answer against the role the
// document names (x-flowd-role): 401 without a token, 403 for a lesser role, and
// neither for a role that suffices; an operation without a role answers without a
// token. Driven by the document, which TestOpenAPICoversRoutes keeps equal to the
// router, so that no route escapes it. It runs on an API of its own, so that an
// operation that ends every session (rotating the signing key) harms no other test.
// Each role is played twice: by an API client with a bearer token, and by a user
// signed in with a browser session (sending its CSRF token).
func TestAuthorizationMatrix(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		iso := newIsolated(t, b)
		a, admin := iso.startAPI(t, b)
		var doc struct {
			Paths map[string]map[string]struct {
				Role string `json:"x-flowd-role"`
			} `json:"paths"`
		}
		(&client{base: a.URL}).must(t, "GET", "/api/v1/openapi.json", nil, &doc, 200)

		clients := map[string]*client{"none": {base: a.URL}, "admin": admin}
		secrets := map[string][2]string{"admin": {adminID, adminSecret}}
		for _, role := range []string{"viewer", "runner", "editor"} {
			var created struct {
				ID     string `json:"id"`
				Secret string `json:"secret"`
			}
			admin.must(t, "POST", "/api/v1/clients", map[string]string{"name": "matrix " + role, "role": role}, &created, 201)
			secrets[role] = [2]string{created.ID, created.Secret}
			clients[role] = &client{base: a.URL}
		}
		login := func() {
			for role, s := range secrets {
				if err := clients[role].login(s[0], s[1]); err != nil {
					t.Fatal(err)
				}
			}
		}
		login()
		users := map[string]*browser{}
		for _, role := range []string{"viewer", "runner", "editor", "admin"} {
			users[role] = newBrowser(t, a.URL)
			admin.must(t, "POST", "/api/v1/users", map[string]string{"username": "matrix-" + role, "password": userPassword, "role": role}, nil, 201)
		}
		signIn := func() {
			for role, br := range users {
				if st, _ := br.call("GET", "/api/v1/auth/me", nil, nil); st != 200 {
					br.signIn(t, "matrix-"+role, userPassword)
				}
			}
		}
		signIn()

		type op struct{ method, path, role string }
		var ops []op
		for path, methods := range doc.Paths {
			for m, o := range methods {
				if _, known := roleRank[o.Role]; o.Role != "" && !known {
					t.Errorf("%s %s: x-flowd-role %q is not a role", m, path, o.Role)
				}
				ops = append(ops, op{strings.ToUpper(m), path, o.Role})
			}
		}
		sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
		seen := map[string]int{}
		for _, o := range ops {
			seen[o.role]++
		}
		// The document is the real one: every role guards some routes.
		for _, r := range []string{"", "viewer", "runner", "editor", "admin"} {
			if seen[r] == 0 {
				t.Fatalf("no operation of the OpenAPI document needs role %q: %v", r, seen)
			}
		}
		if len(ops) < 40 {
			t.Fatalf("the OpenAPI document has %d operations; is it the whole API?", len(ops))
		}

		roles := []string{"none", "viewer", "runner", "editor", "admin"}
		for _, o := range ops {
			path := pathParamRE.ReplaceAllStringFunc(o.path, func(p string) string {
				if p == "{path}" {
					return "x"
				}
				return "matrix-nonexistent"
			})
			var body any
			if slices.Contains([]string{"POST", "PUT", "PATCH", "DELETE"}, o.method) {
				body = "{}"
			}
			for _, as := range append(roles, "user viewer", "user runner", "user editor", "user admin") {
				var (
					e   apiError
					st  int
					err error
				)
				role, user := strings.CutPrefix(as, "user ")
				if user {
					st, err = users[role].call(o.method, path, body, &e)
				} else {
					st, err = clients[role].call(o.method, path, body, &e)
				}
				if err != nil && st == 0 {
					t.Errorf("%s %s as %s: %v", o.method, path, as, err)
					continue
				}
				what := fmt.Sprintf("%s %s as %s (needs %q): HTTP %d %s", o.method, o.path, as, o.role, st, e.Error.Message)
				switch {
				case o.role == "":
					if st == 401 || st == 403 {
						t.Errorf("%s; it needs no token", what)
					}
				case role == "none":
					if st != 401 {
						t.Errorf("%s; want 401", what)
					}
				case roleRank[role] < roleRank[o.role]:
					if st != 403 {
						t.Errorf("%s; want 403", what)
					}
				default:
					if st == 401 || st == 403 {
						t.Errorf("%s; the role suffices", what)
					}
				}
				if st == 500 {
					t.Errorf("%s; an internal error", what)
				}
			}
			// An operation that ended every session (a key rotation): sign in again.
			if st, _ := clients["viewer"].call("GET", "/api/v1/flows", nil, nil); st == 401 {
				login()
			}
			// An operation that ended a user's session (logout): sign in again.
			signIn()
		}
	})
}
