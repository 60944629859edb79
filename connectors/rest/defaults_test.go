package rest_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

// TestDefaultScheme: hostname without scheme is https (the contract's default).
func TestDefaultScheme(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"tls": true}`))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	out := MustCall(t, &rest.Connector{}, map[string]any{"hostname": u.Hostname(), "port": u.Port(), "path": "x", "verify_ssl": false})
	if JSONOut(t, out)["tls"] != true {
		t.Fatalf("outputs %v", out)
	}
	WantContains(t, out["message"].(string), "https://"+u.Host+"/x")
}

// TestDefaultMaxRedirects: ten redirects are followed, the eleventh is refused.
func TestDefaultMaxRedirects(t *testing.T) {
	base := MustHTTPBin(t)
	MustCall(t, &rest.Connector{}, map[string]any{"url": base + "/redirect/10"})
	_, err := CallErr(t, &rest.Connector{}, map[string]any{"url": base + "/redirect/11"})
	WantInputError(t, err, "stopped after 10 redirects (max_redirects)")
}
