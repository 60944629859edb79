package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
)

// undocumented are routes that are not part of the API: the catch-alls that answer
// 404 for unknown API paths and serve the web UI.
var undocumented = map[string]bool{
	"/api/v1/*": true,
	"/*":        true,
}

// echoOnlyMethods are methods Echo's Any routes that OpenAPI cannot describe.
var echoOnlyMethods = map[string]bool{"CONNECT": true, "PROPFIND": true, "REPORT": true}

// TestOpenAPICoversRoutes fails when a route is added without documenting it in
// apiOps (api/openapi.go), or documented without being routed.
func TestOpenAPICoversRoutes(t *testing.T) {
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Web: fstest.MapFS{}, Metrics: NewMetrics()}
	e := s.Handler()
	routed := map[string]bool{}
	for _, r := range e.Routes() {
		if r.Method == "echo_route_not_found" || undocumented[r.Path] || echoOnlyMethods[r.Method] {
			continue
		}
		routed[r.Method+" "+openAPIPath(r.Path)] = true
	}
	documented := map[string]bool{}
	for _, o := range apiOps {
		methods := []string{o.method}
		if o.method == anyMethod {
			methods = anyMethods
		}
		for _, m := range methods {
			key := m + " " + openAPIPath(o.path)
			if documented[key] {
				t.Errorf("%s is documented twice in apiOps (api/openapi.go)", key)
			}
			documented[key] = true
		}
	}
	for _, k := range sortedKeys(routed) {
		if !documented[k] {
			t.Errorf("route %s is not in the OpenAPI document: add an apiOp for it in api/openapi.go", k)
		}
	}
	for _, k := range sortedKeys(documented) {
		if !routed[k] {
			t.Errorf("apiOps in api/openapi.go documents %s, which is not routed: remove it or fix its method and path", k)
		}
	}
}

// TestOpenAPIDocument: the document is served without a token, is valid JSON with
// unique operation ids, and names a role for every route that needs a token.
func TestOpenAPIDocument(t *testing.T) {
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: NewMetrics()}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: HTTP %d %s", rec.Code, rec.Body)
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Servers    []map[string]any                     `json:"servers"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Responses map[string]any `json:"responses"`
		} `json:"components"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	if len(doc.Servers) == 0 {
		t.Error("the document names no servers")
	}
	ids := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			where := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if prev, dup := ids[id]; dup || id == "" {
				t.Errorf("%s: operationId %q is empty or also used by %s", where, id, prev)
			}
			ids[id] = where
			sec, _ := op["security"].([]any)
			if _, hasRole := op["x-flowd-role"]; hasRole != (len(sec) > 0) {
				t.Errorf("%s: security %v and x-flowd-role disagree", where, sec)
			}
			responses, _ := op["responses"].(map[string]any)
			has4xx := false
			for code, r := range responses {
				has4xx = has4xx || strings.HasPrefix(code, "4")
				if ref, _ := r.(map[string]any)["$ref"].(string); ref != "" {
					if _, ok := doc.Components.Responses[strings.TrimPrefix(ref, "#/components/responses/")]; !ok {
						t.Errorf("%s: response %s refers to %s, which is not in components", where, code, ref)
					}
				}
			}
			if !has4xx {
				t.Errorf("%s: no 4xx response is documented", where)
			}
			if _, ok := op["x-flowd-role"]; ok && (responses["401"] == nil || responses["403"] == nil) {
				t.Errorf("%s: a route with a role documents no 401 and 403", where)
			}
			if strings.Contains(path, "{") {
				params, _ := op["parameters"].([]any)
				if len(params) == 0 {
					t.Errorf("%s: path parameters are not described", where)
				}
			}
		}
	}
	for _, open := range []string{"/healthz", "/api/v1/auth/token", "/api/v1/webhooks/{name}/call", "/api/v1/openapi.json"} {
		for m, op := range doc.Paths[open] {
			if _, ok := op["x-flowd-role"]; ok {
				t.Errorf("%s %s needs no token but the document gives it a role", m, open)
			}
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return slices.Clip(keys)
}
