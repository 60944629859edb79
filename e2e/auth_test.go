package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestAuth: tokens are required and verified, and every role gets what it may do and
// nothing more.
func TestAuth(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		anon := &client{base: b.app.URL}
		anon.must(t, "GET", "/healthz", nil, nil, 200)
		anon.must(t, "GET", "/readyz", nil, nil, 200)
		for _, p := range []string{"/api/v1/flows", "/api/v1/executions", "/api/v1/clients", "/api/v1//flows", "/api/v1/FLOWS",
			"/api/v1/flows/../clients", "/healthz/../api/v1/flows", "/healthz/..%2fapi/v1/flows", "/api/v1/flows/..;/clients",
			"/api/v1/flows;/..", "/api/v1/flowshealth", "/api/v1/healthz", "//api/v1/flows", "/api/v1/./flows", "/API/V1/flows", "/api/v1/flows%2f..%2fclients"} {
			st, err := anon.call("GET", p, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			// 401, or a route that does not exist (404), or the web app's index for a
			// path outside /api: never the API's data.
			if st == 200 && strings.HasPrefix(p, "/api/") {
				t.Errorf("GET %s without a token: HTTP 200", p)
			}
			if st != 401 && st != 404 && st != 200 {
				t.Errorf("GET %s without a token: HTTP %d", p, st)
			}
			if st == 200 {
				req, _ := http.NewRequest("GET", b.app.URL+p, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || strings.Contains(string(body), `"items"`) {
					t.Errorf("GET %s without a token answered data: %s %.200s", p, resp.Header.Get("Content-Type"), body)
				}
			}
		}
		bad := &client{base: b.app.URL, token: "not.a.jwt"}
		bad.must(t, "GET", "/api/v1/flows", nil, nil, 401)
		// A token signed with "none" or another key must not pass.
		none := &client{base: b.app.URL, token: "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJlMmUtYWRtaW4iLCJyb2xlIjoiYWRtaW4iLCJleHAiOjQxMDI0NDQ4MDB9."}
		none.must(t, "GET", "/api/v1/flows", nil, nil, 401)

		if st, _ := anon.call("POST", "/api/v1/auth/token", map[string]string{"grant_type": "client_credentials", "client_id": adminID, "client_secret": "wrong"}, nil); st != 401 {
			t.Fatalf("wrong secret: HTTP %d, want 401", st)
		}
		// The form encoding works as well as JSON.
		req, _ := http.NewRequest("POST", b.app.URL+"/api/v1/auth/token", strings.NewReader("grant_type=client_credentials&client_id="+adminID+"&client_secret="+adminSecret))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("form token request: %v %v", resp.StatusCode, err)
		}
		resp.Body.Close()

		flow := unique("roles")
		pushFlow(t, b.api, flow, "function handler() { return {ok: true}; }")
		clients := map[string]*client{}
		for _, role := range []string{"viewer", "runner", "editor"} {
			var created struct {
				ID     string `json:"id"`
				Secret string `json:"secret"`
				Role   string `json:"role"`
			}
			b.api.must(t, "POST", "/api/v1/clients", map[string]string{"name": unique(role), "role": role}, &created, 201)
			if created.Secret == "" || created.Role != role {
				t.Fatalf("created client: %+v", created)
			}
			c := &client{base: b.app.URL}
			if err := c.login(created.ID, created.Secret); err != nil {
				t.Fatal(err)
			}
			clients[role] = c
		}
		b.api.must(t, "POST", "/api/v1/clients", map[string]string{"name": "x", "role": "overlord"}, nil, 400)

		script := map[string]string{"script": "function handler() {}"}
		cases := []struct {
			role, method, path string
			body               any
			want               int
		}{
			{"viewer", "GET", "/api/v1/flows", nil, 200},
			{"viewer", "PUT", "/api/v1/flows/" + flow, script, 403},
			{"viewer", "POST", "/api/v1/flows/" + flow + "/executions", map[string]any{}, 403},
			{"viewer", "GET", "/api/v1/clients", nil, 403},
			{"runner", "POST", "/api/v1/flows/" + flow + "/executions", map[string]any{}, 201},
			{"runner", "PUT", "/api/v1/flows/" + flow, script, 403},
			{"runner", "DELETE", "/api/v1/flows/" + flow, nil, 403},
			{"runner", "GET", "/api/v1/executions", nil, 200},
			{"editor", "PUT", "/api/v1/flows/" + flow, script, 200},
			{"editor", "POST", "/api/v1/clients", map[string]string{"name": "x", "role": "admin"}, 403},
		}
		for _, tc := range cases {
			if st, err := clients[tc.role].call(tc.method, tc.path, tc.body, nil); err != nil || st != tc.want {
				t.Errorf("%s %s %s: HTTP %d %v, want %d", tc.role, tc.method, tc.path, st, err, tc.want)
			}
		}
	})
}

// TestWebAssets: the web UI is served compressed, its hashed assets cacheable forever,
// and unknown paths outside /api answer with the app.
func TestWebAssets(t *testing.T) {
	b := backends[0]
	get := func(path string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", b.app.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent decompression
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp, resp.Header.Get("Content-Encoding")
	}
	resp, _ := get("/")
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET /: %d %v", resp.StatusCode, resp.Header)
	}
	body, err := http.Get(b.app.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(body.Body)
	body.Body.Close()
	m := regexp.MustCompile(`/assets/[A-Za-z0-9_.-]+\.js`).Find(html)
	if m == nil {
		t.Fatalf("no script in index.html: %s", html)
	}
	resp, enc := get(string(m))
	if resp.StatusCode != 200 || enc != "gzip" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s: %d encoding %q %v", m, resp.StatusCode, enc, resp.Header)
	}
	if resp, _ := get("/flows/some/client/route"); resp.StatusCode != 200 {
		t.Fatalf("client route: %d", resp.StatusCode)
	}
}
