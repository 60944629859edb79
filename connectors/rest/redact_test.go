package rest_test

import (
	"bytes"
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
	"github.com/flowd/flowd/secrets"
)

// TestTokensRedacted: the access tokens a call obtains (oauth2 grant, custom
// auth) never appear in its outputs, log, error or stored body (binary too), in
// any of the forms a secret is redacted in, while the API still gets them.
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
		case "/binary": // a binary body that holds the token: stored redacted too
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(append(append([]byte{0x89, 0, 0xff}, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")...), 0, 0xfe))
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
			{"DstBinary", map[string]any{"url": srv + "/binary", "dst": "binary-" + name}, false},
			{"Binary", map[string]any{"url": srv + "/binary"}, false},
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
				if !strings.Contains(seen, "[redacted]") {
					t.Errorf("no redaction marker in %s", seen)
				}
			})
		}
	}
	if got := files.files["echo-OAuth2"]; !strings.Contains(string(got), "Bearer [redacted]") || strings.Contains(string(got), "crm") {
		t.Errorf("stored body %s, want the token redacted", got)
	}
}

// TestSecretsRedactedBeforeExcerpt: the secrets the engine passes in
// CallOptions are replaced in a response body before an excerpt of it is cut
// for the error (where a secret cut in half, or with its whitespace collapsed,
// would pass any later redaction) and before it is stored, binary or not.
func TestSecretsRedactedBeforeExcerpt(t *testing.T) {
	const secret = "first-half-0123456789\t\tsecond-half-<&>"
	srv := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cut": // the excerpt ends in the middle of the secret
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, strings.Repeat("x", 180)+" "+secret)
		case "/binary":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(append(append([]byte{0, 0xff}, secret...), 0xfe))
		}
	})
	files := &memFiles{}
	ctx := rest.WithCallOptions(context.Background(), rest.CallOptions{Files: files, Redactor: secrets.NewRedactor(map[string]string{"pw": secret})})
	_, err := (&rest.Connector{}).Call(ctx, map[string]any{"url": srv + "/cut"})
	if err == nil || !strings.Contains(err.Error(), "answered 422") || strings.Contains(err.Error(), "first-half") {
		t.Fatalf("err = %v, want a 422 without the secret's first half", err)
	}
	if _, err := (&rest.Connector{}).Call(ctx, map[string]any{"url": srv + "/binary", "dst": "bin"}); err != nil {
		t.Fatal(err)
	}
	if got := files.files["bin"]; bytes.Contains(got, []byte("half")) || !bytes.Contains(got, []byte("[redacted]")) {
		t.Fatalf("stored %q, want the secret redacted", got)
	}
}
