package rest_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

// otherHost returns u with host 127.0.0.1 spelled localhost: the same server,
// another host for the connector.
func otherHost(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) }

func TestRedirectCredentials(t *testing.T) {
	// One server: /start redirects to ?to=, anything else is recorded. The
	// other host is the same server as localhost instead of 127.0.0.1.
	got := &captured{}
	srv := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/start" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
			return
		}
		got.mu.Lock()
		got.header = r.Header.Clone()
		got.mu.Unlock()
	})
	target := srv + "/target"
	creds := []struct {
		name   string
		in     map[string]any
		header string
	}{
		{"Basic", map[string]any{"authentication_method": "basic", "username": "u", "password": "p"}, "Authorization"},
		{"Bearer", map[string]any{"token": "t"}, "Authorization"},
		{"APIKeyHeader", map[string]any{"api_key": "k", "api_key_name": "X-Key"}, "X-Key"},
		{"CustomAPIKeyHeader", map[string]any{"headers": map[string]any{"X-Api-Key": "k"}}, "X-Api-Key"},
		{"Cookies", map[string]any{"cookies": map[string]any{"sid": "s"}}, "Cookie"},
	}
	for _, cr := range creds {
		for _, hop := range []struct {
			name     string
			to       string
			wantKept bool
		}{{"SameHost", target, true}, {"OtherHost", otherHost(target), false}} {
			t.Run(cr.name+"/"+hop.name, func(t *testing.T) {
				in := map[string]any{"url": srv + "/start?to=" + url.QueryEscape(hop.to)}
				for k, v := range cr.in {
					in[k] = v
				}
				MustCall(t, &rest.Connector{}, in)
				h, _ := got.get()
				if kept := h.Get(cr.header) != ""; kept != hop.wantKept {
					t.Errorf("%s sent after redirect = %v, want %v", cr.header, kept, hop.wantKept)
				}
			})
		}
	}
}

func TestRedirectAPIKeyQueryDropped(t *testing.T) {
	target := MustHTTPBin(t)
	redirector := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		// A careless server that copies the query into the redirect.
		http.Redirect(w, r, otherHost(target)+"/anything?"+r.URL.RawQuery, http.StatusFound)
	})
	out := MustCall(t, &rest.Connector{}, map[string]any{"url": redirector, "api_key": "secret", "api_key_in": "query", "params": map[string]any{"q": "1"}})
	args := JSONOut(t, out)["args"].(map[string]any)
	if _, ok := args["api_key"]; ok || args["q"] == nil {
		t.Errorf("args after redirect = %v, want q without api_key", args)
	}
}

func TestRedirectPolicy(t *testing.T) {
	base := MustHTTPBin(t)
	tests := []struct {
		name       string
		in         map[string]any
		wantStatus int
		wantErr    string
	}{
		{"Follows", map[string]any{"url": base + "/redirect/3"}, 200, ""},
		{"Off", map[string]any{"url": base + "/redirect/1", "allow_redirects": false, "expected_status_code": 302.0}, 302, ""},
		{"OffUnexpected", map[string]any{"url": base + "/redirect/1", "allow_redirects": false}, 302, "answered 302"},
		{"MaxRedirects", map[string]any{"url": base + "/redirect/3", "max_redirects": 3.0}, 200, ""},
		{"ErrTooMany", map[string]any{"url": base + "/redirect/3", "max_redirects": 2.0}, 0, "stopped after 2 redirects (max_redirects); raise max_redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := (&rest.Connector{}).Call(t.Context(), tt.in)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.wantStatus != 0 && out["status_code"] != tt.wantStatus {
				t.Errorf("status_code = %v, want %d", out["status_code"], tt.wantStatus)
			}
		})
	}
}

func TestAllowedDomains(t *testing.T) {
	base := MustHTTPBin(t) // on 127.0.0.1
	tests := []struct {
		name    string
		allowed []string
		url     string
		wantErr string
	}{
		{"Allowed", []string{"127.0.0.1"}, base + "/get", ""},
		{"Wildcard", []string{"*.localhost"}, strings.Replace(base, "127.0.0.1", "api.localhost", 1) + "/get", "no such host"}, // allowed, but does not resolve everywhere
		{"ErrRefused", []string{"example.com"}, base + "/get", "host 127.0.0.1 is not in this connector's allowed domains (example.com)"},
		{"ErrWildcardNotApex", []string{"*.127.0.0.1"}, base + "/get", "not in this connector's allowed domains"},
		{"ErrRedirectHop", []string{"127.0.0.1"}, base + "/redirect-to?url=" + url.QueryEscape(otherHost(base)+"/get"), "host localhost is not in this connector's allowed domains"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &rest.Connector{AllowedDomains: tt.allowed}
			_, err := c.Call(t.Context(), map[string]any{"url": tt.url, "retry_backoff": map[string]any{"deadline": 0.0}})
			switch {
			case tt.wantErr == "":
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			case tt.name == "Wildcard":
				// Passing the domain check is what matters; resolving api.localhost depends on the system.
				if err != nil && strings.Contains(err.Error(), "allowed domains") {
					t.Fatalf("err = %v, want the domain allowed", err)
				}
			default:
				WantInputError(t, err, tt.wantErr)
			}
		})
	}
}

func TestRedirectDomainErrorIsNotRetried(t *testing.T) {
	_, err := CallErr(t, &rest.Connector{AllowedDomains: []string{"example.com"}}, map[string]any{"url": "http://127.0.0.1:1/"})
	var ie *rest.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %T, want *InputError", err)
	}
}
