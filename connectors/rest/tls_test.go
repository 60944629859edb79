package rest_test

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"tls":true}`))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	tests := []struct {
		name    string
		in      map[string]any
		wantErr string
		input   bool
	}{
		{"ErrUntrusted", map[string]any{}, "not trusted", false},
		{"CACert", map[string]any{"cacert": certPEM}, "", false},
		{"VerifyOff", map[string]any{"verify_ssl": false}, "", false},
		{"ErrBadCACert", map[string]any{"cacert": "not a cert"}, "holds no PEM certificate", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in["url"] = srv.URL
			if tt.wantErr == "" {
				out := MustCall(t, &rest.Connector{}, tt.in)
				if JSONOut(t, out)["tls"] != true {
					t.Errorf("json = %v", out["json"])
				}
				return
			}
			out, err := CallErr(t, &rest.Connector{}, tt.in)
			if tt.input {
				WantInputError(t, err, tt.wantErr)
				return
			}
			WantContains(t, err.Error(), tt.wantErr, "set cacert")
			if n := len(out["log"].([]any)); n != 1 {
				t.Errorf("log has %d entries, want 1: certificate errors are not retried", n)
			}
		})
	}
}
