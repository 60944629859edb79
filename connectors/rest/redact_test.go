package rest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flowd/flowd/connectors/oauth"
	"github.com/flowd/flowd/connectors/rest"
)

// TestTokensRedacted: the access tokens a call obtains (oauth2 grant, custom
// auth) never appear in its outputs, log, error or stored body, in any of the
// forms a secret is redacted in, while the API still gets them.
func TestTokensRedacted(t *testing.T) {
	const oauthToken, customToken = "oauth-access-token-0123456789", "custom-session-token-9876543210"
	srv := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/token":
			fmt.Fprintf(w, `{"access_token": %q, "token_type": "bearer", "expires_in": 3600}`, oauthToken)
		case "/login":
			fmt.Fprintf(w, `{"session": {"token": %q}}`, customToken)
		case "/echo": // as httpbin: the credential comes back, also encoded
			auth := r.Header.Get("Authorization")
			tok := strings.TrimPrefix(auth, "Bearer ")
			json.NewEncoder(w).Encode(map[string]string{"auth": auth, "b64": base64.StdEncoding.EncodeToString([]byte(tok)), "q": url.QueryEscape(tok)})
		case "/fail":
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"error": "token %s is not allowed here"}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}
	})
	files := &memFiles{}
	c := &rest.Connector{Files: files, Tokens: &oauth.Cache{}, Grants: func(context.Context, string) (oauth.Grant, error) {
		return oauth.Grant{Type: oauth.TypeClientCredentials, TokenURL: srv + "/token", ClientID: "id", ClientSecret: "secret"}, nil
	}}
	auths := map[string]map[string]any{
		"OAuth2": {"authentication_method": "oauth2", "grant": "crm"},
		"Custom": {"authentication_method": "custom", "auth_url": srv + "/login", "token_path": "session.token"},
	}
	for name, auth := range auths {
		for _, call := range []struct {
			name   string
			inputs map[string]any
			fails  bool
		}{
			{"Outputs", map[string]any{"url": srv + "/echo"}, false},
			{"Error", map[string]any{"url": srv + "/fail"}, true},
			{"Dst", map[string]any{"url": srv + "/echo", "dst": "echo-" + name}, false},
		} {
			t.Run(name+"/"+call.name, func(t *testing.T) {
				in := map[string]any{}
				for k, v := range auth {
					in[k] = v
				}
				for k, v := range call.inputs {
					in[k] = v
				}
				out, err := c.Call(context.Background(), in)
				if (err != nil) != call.fails {
					t.Fatalf("err = %v", err)
				}
				raw, _ := json.Marshal(out)
				seen := string(raw) + " " + fmt.Sprint(err)
				for _, f := range files.files {
					seen += " " + string(f)
				}
				for _, tok := range []string{oauthToken, customToken} {
					for _, form := range []string{tok, base64.StdEncoding.EncodeToString([]byte(tok)), url.QueryEscape(tok)} {
						if strings.Contains(seen, form) {
							t.Errorf("token form %q found in %s", form, seen)
						}
					}
				}
				if !strings.Contains(seen, "[redacted:") {
					t.Errorf("no redaction marker in %s", seen)
				}
			})
		}
	}
	if got := files.files["echo-OAuth2"]; !strings.Contains(string(got), "[redacted:token of grant crm]") {
		t.Errorf("stored body %s, want the token redacted", got)
	}
}
