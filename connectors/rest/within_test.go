package rest_test

import (
	"net/url"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

func TestCallWithin(t *testing.T) {
	base := MustHTTPBin(t) // on 127.0.0.1
	tests := []struct {
		name    string
		allowed []string // Connector.AllowedDomains
		within  []string // CallWithin's domains
		url     string
		wantErr string
	}{
		{"Allowed", nil, []string{"127.0.0.1"}, base + "/get", ""},
		{"EmptyIsCall", nil, nil, base + "/get", ""},
		{"BothAllow", []string{"127.0.0.1"}, []string{"127.0.0.1", "example.com"}, base + "/get", ""},
		{"ErrRefused", nil, []string{"api.example.com"}, base + "/get", "host 127.0.0.1 is not in this connector's allowed domains (api.example.com)"},
		{"ErrAllowedDomainsStillApply", []string{"example.com"}, []string{"127.0.0.1"}, base + "/get", "host 127.0.0.1 is not in this connector's allowed domains (example.com)"},
		{"ErrRedirectHop", nil, []string{"127.0.0.1"}, base + "/redirect-to?url=" + url.QueryEscape(otherHost(base)+"/get"), "host localhost is not in this connector's allowed domains (127.0.0.1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &rest.Connector{AllowedDomains: tt.allowed}
			out, err := c.CallWithin(t.Context(), map[string]any{"url": tt.url, "retry_backoff": map[string]any{"deadline": 0.0}}, tt.within)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if out["status_code"] != 200 {
					t.Fatalf("status_code = %v, want 200", out["status_code"])
				}
				return
			}
			WantInputError(t, err, tt.wantErr)
			if out["status"] != "error" {
				t.Fatalf("status = %v, want error", out["status"])
			}
		})
	}
	// The shared connector is not changed by a limited call.
	c := &rest.Connector{}
	if _, err := c.CallWithin(t.Context(), map[string]any{"url": base + "/get"}, []string{"example.com"}); err == nil {
		t.Fatal("limited call succeeded")
	}
	MustCall(t, c, map[string]any{"url": base + "/get"})
}
