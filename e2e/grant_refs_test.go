package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// tokenEndpoint is a real OAuth2 token endpoint for the client "flowd": it
// counts the requests it gets and answers the right client secret with token.
type tokenEndpoint struct {
	*httptest.Server
	token    string
	requests atomic.Int32
}

func newTokenEndpoint(t *testing.T, clientSecret string) *tokenEndpoint {
	t.Helper()
	te := &tokenEndpoint{token: "AT-" + unique("grant-token")}
	te.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		te.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" ||
			r.PostForm.Get("client_id") != "flowd" || r.PostForm.Get("client_secret") != clientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error": "invalid_client"}`))
			return
		}
		fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": 3600}`, te.token)
	}))
	t.Cleanup(te.Close)
	return te
}

// assertNoAuth fails when any request rec received carries an Authorization
// header or the token anywhere.
func (rec *recorder) assertNoAuth(t *testing.T, token string) {
	t.Helper()
	for _, r := range rec.requests() {
		if r.Header.Get("Authorization") != "" || strings.Contains(r.dump(), token) {
			t.Errorf("the listener received credentials in %s %s: %s", r.Method, r.Path, r.dump())
		}
	}
}

// TestGrantRefs: a saved OAuth2 grant is used only where the flow's code names it
// (system.grant) or a saved connector does. A grant name that arrives as data —
// inputs, a webhook's body, a setting, a connection's outputs, a text that looks
// like a handle — is refused before any token is fetched, so whoever runs a flow
// cannot have a grant's token sent to a host of their choosing. Each case checks
// what a real listener and a real token endpoint receive.
func TestGrantRefs(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		clientSecret := "cs-" + unique("v")
		tokens := newTokenEndpoint(t, clientSecret)
		secretName, grant := unique("grant_cs"), unique("victim_grant")
		putSecret(t, b.api, secretName, clientSecret)
		b.api.must(t, "PUT", "/api/v1/grants/"+grant, map[string]any{"type": "client_credentials", "token_url": tokens.URL,
			"client_id": "flowd", "client_secret": map[string]string{"secret": secretName}, "auth_style": "body"}, nil, 201)
		runner := newRoleClient(t, b, "runner")
		// names answers {"grant": <g>}: a connection's outputs that name a grant.
		names := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"grant": r.URL.Query().Get("g")})
		}))
		defer names.Close()

		t.Run("SaveRefusesText", func(t *testing.T) {
			// The old way, grant: 'NAME' in this.connect, is refused with what to write.
			var resp struct {
				Error struct {
					Message string `json:"message"`
					Line    int    `json:"line"`
				} `json:"error"`
			}
			st, err := b.api.call("PUT", "/api/v1/flows/"+unique("text_grant"), map[string]string{"script": `function handler(system, inputs) {
  return this.connect({connector_type: 'REST', url: 'https://api.example.com', authentication_method: 'oauth2', grant: '` + grant + `'});
}`}, &resp)
			if e := resp.Error; err != nil || st != 422 || e.Line != 2 || !strings.Contains(e.Message, "grant: system.grant('"+grant+"')") {
				t.Fatalf("HTTP %d %v %+v, want 422 saying grant: system.grant('%s')", st, err, e, grant)
			}
		})

		// The flow of the shape, which takes its URL and its grant from data.
		// It saves (the grant is not a text in the code) and is refused when it runs.
		flow, setting := unique("grant_by_data"), unique("grant_setting")
		b.api.must(t, "PUT", "/api/v1/settings/"+setting, map[string]any{"value": map[string]any{"grant": grant}}, nil, 200)
		pushFlow(t, b.api, flow, fmt.Sprintf(`function handler(system, inputs) {
  const data = inputs.json || inputs;
  let grant;
  switch (data.source) {
  case 'inputs': grant = data.grant; break;
  case 'setting': grant = system.setting(%q).get('value').grant; break;
  case 'output': grant = this.connect({connector_type: 'REST', url: %q, params: {g: data.grant}}).get('output_value').json.grant; break;
  }
  try {
    const c = this.connect({connector_type: 'REST', url: data.url, authentication_method: 'oauth2', grant: grant});
    return {status: c.get('output_value').status_code, error: c.get('status_message')};
  } catch (e) {
    return {error: String(e.message || e)};
  }
}`, setting, names.URL+"/name"))
		refused := func(t *testing.T, outputs map[string]any, attacker *recorder, before int32) {
			t.Helper()
			if msg := fmt.Sprint(outputs["error"]); !strings.Contains(msg, "must be named by the flow's code") || !strings.Contains(msg, "system.grant('"+grant+"')") {
				t.Errorf("outputs %v, want the call refused saying to write system.grant('%s')", outputs, grant)
			}
			if n := tokens.requests.Load() - before; n != 0 {
				t.Errorf("the token endpoint got %d requests for a grant named by data", n)
			}
			if got := attacker.find("/steal"); len(got) != 0 {
				t.Errorf("the runner's host got %d requests", len(got))
			}
			attacker.assertNoAuth(t, tokens.token)
		}
		for _, tt := range []struct{ name, source, grant string }{
			{"Inputs", "inputs", grant},
			{"Setting", "setting", ""},
			{"ConnectOutputs", "output", grant},
			// A text that looks like what a handle leaves in the recorded inputs.
			{"Placeholder", "inputs", "[grant " + grant + "]"},
		} {
			t.Run("Runner"+tt.name, func(t *testing.T) {
				attacker := newRecorder(t)
				before := tokens.requests.Load()
				e := runFlow(t, runner, flow, map[string]any{"source": tt.source, "grant": tt.grant, "url": attacker.URL + "/steal"})
				if e.Status != "ENDED_SUCCESS" {
					t.Fatalf("ended %s %q", e.Status, e.StatusMessage)
				}
				if tt.name == "Placeholder" {
					if msg := fmt.Sprint(e.Outputs["error"]); !strings.Contains(msg, "must be named by the flow's code") {
						t.Errorf("outputs %v, want the call refused", e.Outputs)
					}
					if n := tokens.requests.Load() - before; n != 0 || len(attacker.requests()) != 0 {
						t.Errorf("%d token requests, %d requests to the runner's host", n, len(attacker.requests()))
					}
					return
				}
				refused(t, e.Outputs, attacker, before)
			})
		}

		t.Run("WebhookBody", func(t *testing.T) {
			// Whoever holds a webhook's key sends its body: data too.
			attacker := newRecorder(t)
			hook := unique("granthook")
			var created struct{ Key string }
			b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow}, &created, 201)
			body, _ := json.Marshal(map[string]string{"source": "inputs", "grant": grant, "url": attacker.URL + "/steal"})
			before := tokens.requests.Load()
			st, _, reply := hookCall(t, "POST", b.app.URL+"/api/v1/webhooks/"+hook+"/call",
				map[string]string{"X-Flowd-Key": created.Key, "Content-Type": "application/json"}, body)
			var out map[string]any
			if err := json.Unmarshal(reply, &out); st != 200 || err != nil {
				t.Fatalf("webhook call: HTTP %d %s", st, reply)
			}
			refused(t, out, attacker, before)
		})

		t.Run("SavedConnectorNotSwapped", func(t *testing.T) {
			// A saved connector's grant cannot be swapped for another by data either.
			legit := newRecorder(t)
			other, conn, swap := unique("other_grant"), unique("granted"), unique("swap")
			b.api.must(t, "PUT", "/api/v1/grants/"+other, map[string]any{"type": "client_credentials", "token_url": tokens.URL,
				"client_id": "flowd", "client_secret": map[string]string{"secret": secretName}, "auth_style": "body", "scope": "other"}, nil, 201)
			b.api.must(t, "PUT", "/api/v1/connectors/"+conn, map[string]any{"connector_type": "REST",
				"inputs": map[string]any{"url": legit.URL + "/api", "authentication_method": "oauth2", "grant": grant}}, nil, 201)
			pushFlow(t, b.api, swap, fmt.Sprintf(`function handler(system, inputs) {
  try { return {status: this.connect(%q, {grant: inputs.grant}).get('output_value').status_code}; }
  catch (e) { return {error: String(e.message || e)}; }
}`, conn))
			before := tokens.requests.Load()
			e := runFlow(t, runner, swap, map[string]any{"grant": other})
			if msg := fmt.Sprint(e.Outputs["error"]); e.Status != "ENDED_SUCCESS" || !strings.Contains(msg, "system.grant('"+other+"')") {
				t.Fatalf("ended %s %q: %v, want the override refused", e.Status, e.StatusMessage, e.Outputs)
			}
			if n := tokens.requests.Load() - before; n != 0 || len(legit.requests()) != 0 {
				t.Errorf("%d token requests, %d API requests for a refused call", n, len(legit.requests()))
			}
		})

		t.Run("Handle", func(t *testing.T) {
			// The code names the grant and where its token goes: a runner runs it, the
			// token endpoint is asked once, and only the code's host gets the token.
			legit, attacker := newRecorder(t), newRecorder(t)
			named := unique("grant_handle")
			pushFlow(t, b.api, named, fmt.Sprintf(`function handler(system, inputs) {
  const g = system.grant(%q);
  const c = this.connect({connector_type: 'REST', url: %q, authentication_method: 'oauth2', grant: g});
  this.log('grant', g);
  return {status: c.get('output_value').status_code, grant: c.get('input_value').grant, name: g.name, json: JSON.stringify({g: g})};
}`, grant, legit.URL+"/api"))
			before := tokens.requests.Load()
			e := runFlow(t, runner, named, map[string]any{"url": attacker.URL + "/steal", "grant": "ignored"})
			if e.Status != "ENDED_SUCCESS" || e.Outputs["status"] != float64(200) {
				t.Fatalf("ended %s %q: %v", e.Status, e.StatusMessage, e.Outputs)
			}
			want := map[string]any{"status": float64(200), "grant": "[grant " + grant + "]", "name": grant, "json": `{"g":"[grant ` + grant + `]"}`}
			for k, v := range want {
				if e.Outputs[k] != v {
					t.Errorf("output %s = %v, want %v", k, e.Outputs[k], v)
				}
			}
			if n := tokens.requests.Load() - before; n != 1 {
				t.Errorf("%d token requests, want 1", n)
			}
			got := legit.find("/api")
			if len(got) != 1 || got[0].Header.Get("Authorization") != "Bearer "+tokens.token {
				t.Fatalf("the code's host got %+v, want one request with the grant's token", got)
			}
			if len(attacker.requests()) != 0 {
				t.Errorf("the runner's host got %d requests", len(attacker.requests()))
			}
			assertNoSecret(t, b, e.ID, append(secretForms("flowd", clientSecret), tokens.token)...)
		})

		t.Run("HandleMissingGrant", func(t *testing.T) {
			missing := unique("no_such_grant")
			f := unique("grant_missing")
			pushFlow(t, b.api, f, fmt.Sprintf(`function handler(system) {
  return this.connect({connector_type: 'REST', url: 'http://127.0.0.1:1/', authentication_method: 'oauth2', grant: system.grant(%q)}).get('status');
}`, missing))
			e := runFlow(t, runner, f, nil)
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "PUT /api/v1/grants/"+missing) {
				t.Fatalf("ended %s %q, want an error saying to create the grant", e.Status, e.StatusMessage)
			}
		})
	})
}
