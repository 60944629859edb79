package rest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

func TestAuth(t *testing.T) {
	base := MustHTTPBin(t)
	tests := []struct {
		name string
		in   map[string]any
	}{
		{"None", map[string]any{"url": base + "/get", "authentication_method": "none"}},
		{"Basic", map[string]any{"url": base + "/basic-auth/u/p w", "authentication_method": "basic", "username": "u", "password": "p w"}},
		{"BasicInferred", map[string]any{"url": base + "/basic-auth/u/p", "username": "u", "password": "p"}},
		{"Bearer", map[string]any{"url": base + "/bearer", "authentication_method": "bearer", "token": "t0k"}},
		{"BearerInferred", map[string]any{"url": base + "/bearer", "token": "t0k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			MustCall(t, &rest.Connector{}, tt.in)
		})
	}
	t.Run("ErrBasicWrong", func(t *testing.T) {
		_, err := CallErr(t, &rest.Connector{}, map[string]any{"url": base + "/basic-auth/u/p", "username": "u", "password": "x"})
		WantContains(t, err.Error(), "401", "check the credentials")
	})
}

func TestAPIKey(t *testing.T) {
	base := MustHTTPBin(t)
	tests := []struct {
		name      string
		in        map[string]any
		wantWhere string // "headers" or "args"
		wantName  string
	}{
		{"HeaderDefault", map[string]any{"api_key": "k1"}, "headers", "X-Api-Key"},
		{"HeaderNamed", map[string]any{"authentication_method": "api_key", "api_key": "k1", "api_key_name": "X-Token", "api_key_in": "header"}, "headers", "X-Token"},
		{"QueryDefault", map[string]any{"api_key": "k1", "api_key_in": "query"}, "args", "api_key"},
		{"QueryNamed", map[string]any{"api_key": "k1", "api_key_in": "QUERY", "api_key_name": "key"}, "args", "key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in["url"] = base + "/anything"
			tt.in["params"] = map[string]any{"other": "1"}
			out := MustCall(t, &rest.Connector{}, tt.in)
			got := JSONOut(t, out)[tt.wantWhere].(map[string]any)[tt.wantName]
			if v, _ := got.([]any); len(v) != 1 || v[0] != "k1" {
				t.Errorf("%s[%s] = %v, want [k1]", tt.wantWhere, tt.wantName, got)
			}
			if log := logText(t, out); strings.Contains(log, "k1") {
				t.Errorf("log %q shows the API key", log)
			}
		})
	}
}

func TestAuthInputErrors(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want string
	}{
		{"ErrUnknownMethod", map[string]any{"authentication_method": "digest"}, `authentication_method "digest" is unknown`},
		{"ErrMismatch", map[string]any{"authentication_method": "basic", "username": "u", "token": "t"}, "token is only used with authentication_method bearer"},
		{"ErrTwoMethods", map[string]any{"username": "u", "api_key": "k"}, "basic and api_key"},
		{"ErrBasicNoUser", map[string]any{"authentication_method": "basic"}, "needs a username"},
		{"ErrBearerNoToken", map[string]any{"authentication_method": "bearer"}, "needs a token"},
		{"ErrAPIKeyIn", map[string]any{"api_key": "k", "api_key_in": "body"}, "header or query"},
		{"ErrOAuth2NoGrant", map[string]any{"authentication_method": "oauth2"}, "needs grant"},
		{"ErrOAuth2NoGrants", map[string]any{"grant": "g"}, "no saved OAuth2 grants"},
		{"ErrCustomNoURL", map[string]any{"authentication_method": "custom"}, "needs auth_url"},
		{"ErrNoneWithInput", map[string]any{"authentication_method": "none", "password": "p"}, "password is only used with authentication_method basic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in["url"] = "http://127.0.0.1:1/"
			_, err := CallErr(t, &rest.Connector{}, tt.in)
			WantInputError(t, err, tt.want)
		})
	}
}

func TestCustomAuth(t *testing.T) {
	var authCalls atomic.Int32
	var apiAuth atomic.Value
	var authReq struct {
		header http.Header
		body   map[string]any
	}
	srv := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/login":
			authCalls.Add(1)
			authReq.header = r.Header.Clone()
			json.NewDecoder(r.Body).Decode(&authReq.body)
			io.WriteString(w, `{"data": {"session": {"jwt": "custom-token"}}, "access_token": "default-token"}`)
		case "/api":
			apiAuth.Store(r.Header.Get("Authorization"))
			json.NewEncoder(w).Encode(map[string]string{"auth": r.Header.Get("Authorization")})
		}
	})
	tests := []struct {
		name      string
		tokenPath any
		want      string // what the API got
	}{
		{"DefaultPath", nil, "Bearer default-token"},
		{"DottedPath", "data.session.jwt", "Bearer custom-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := MustCall(t, &rest.Connector{}, map[string]any{
				"url": srv + "/api", "authentication_method": "custom",
				"auth_url": srv + "/login", "auth_headers": map[string]any{"X-Tenant": "acme"},
				"auth_json": map[string]any{"user": "u", "password": "p"}, "token_path": tt.tokenPath,
			})
			if got := apiAuth.Load(); got != tt.want {
				t.Errorf("Authorization = %v, want %v", got, tt.want)
			}
			// The API echoed the token; the outputs show it redacted.
			if got := JSONOut(t, out)["auth"]; got != "Bearer [redacted]" {
				t.Errorf("echoed Authorization = %v, want it redacted", got)
			}
			if authReq.header.Get("X-Tenant") != "acme" || authReq.body["user"] != "u" {
				t.Errorf("auth request headers %v body %v", authReq.header, authReq.body)
			}
		})
	}
	t.Run("ErrTokenPath", func(t *testing.T) {
		_, err := CallErr(t, &rest.Connector{}, map[string]any{"url": srv + "/api", "auth_url": srv + "/login", "token_path": "nope"})
		WantInputError(t, err, `no token text at "nope"`, "access_token, data", "set token_path")
	})
	t.Run("ErrAuthStatus", func(t *testing.T) {
		base := MustHTTPBin(t)
		_, err := CallErr(t, &rest.Connector{}, map[string]any{"url": base + "/get", "auth_url": base + "/status/403"})
		var se *rest.StatusError
		if !asStatus(err, &se) || se.StatusCode != 403 {
			t.Fatalf("err = %v, want a 403 StatusError", err)
		}
		WantContains(t, err.Error(), "POST", "/status/403", "check the credentials")
	})
}
