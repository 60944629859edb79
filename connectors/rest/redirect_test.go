package rest_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

// otherHost returns u with host 127.0.0.1 spelled localhost: the same server,
// another host for the connector.
func otherHost(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) }

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
