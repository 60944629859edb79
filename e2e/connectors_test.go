package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"
)

// secretForms are the ways a secret value could leak: as it is, base64 (alone or
// in a Basic auth header) and URL-encoded.
func secretForms(user, value string) []string {
	return []string{value, base64.StdEncoding.EncodeToString([]byte(value)),
		base64.StdEncoding.EncodeToString([]byte(user + ":" + value)), url.QueryEscape(value)}
}

// rawGet returns the body of a GET as bytes, failing unless it answers 200.
func rawGet(t *testing.T, c *client, path string) []byte {
	t.Helper()
	var raw json.RawMessage
	c.must(t, "GET", path, nil, &raw, 200)
	return raw
}

// history returns the workflow history of a flow execution, every event
// encoded as protobuf (payloads appear there as they are).
func history(t *testing.T, b *backend, id string) []byte {
	t.Helper()
	var all []byte
	it := b.app.Temporal.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		data, err := proto.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, data...)
		n++
	}
	if n < 3 {
		t.Fatalf("history of %s has %d events", id, n)
	}
	return all
}

// assertNoSecret fails when any form of a secret appears in the execution, its
// children, its logs or its workflow history.
func assertNoSecret(t *testing.T, b *backend, id string, forms ...string) {
	t.Helper()
	places := map[string][]byte{
		"execution":        rawGet(t, b.api, "/api/v1/executions/"+id),
		"children":         rawGet(t, b.api, "/api/v1/executions/"+id+"/children"),
		"logs":             rawGet(t, b.api, "/api/v1/executions/"+id+"/logs"),
		"executions list":  rawGet(t, b.api, "/api/v1/executions?root_id="+id),
		"workflow history": history(t, b, id),
	}
	for _, kid := range childrenOf(t, b.api, id) {
		places["child "+kid.ID] = rawGet(t, b.api, "/api/v1/executions/"+kid.ID)
	}
	for where, data := range places {
		for _, f := range forms {
			if bytes.Contains(data, []byte(f)) {
				t.Errorf("secret form %q found in %s: %s", f, where, data)
			}
		}
	}
}

func putSecret(t *testing.T, c *client, name, value string) {
	t.Helper()
	c.must(t, "PUT", "/api/v1/secrets/"+name, map[string]string{"value": value}, nil, 200, 201)
}

// TestSecretsAPI: secrets are write-only, and only editors may touch them.
func TestSecretsAPI(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name, value := unique("api_token"), "sk-live-"+unique("v")
		var sec map[string]any
		b.api.must(t, "PUT", "/api/v1/secrets/"+name, map[string]string{"value": value}, &sec, 201)
		if sec["name"] != name || sec["created_at"] == nil || sec["value"] != nil {
			t.Fatalf("PUT answered %v", sec)
		}
		b.api.must(t, "PUT", "/api/v1/secrets/"+name, map[string]string{"value": value + "-2"}, nil, 200)

		for _, path := range []string{"/api/v1/secrets/" + name, "/api/v1/secrets"} {
			raw := rawGet(t, b.api, path)
			if bytes.Contains(raw, []byte("sk-live-")) || bytes.Contains(raw, []byte(`"value"`)) || !bytes.Contains(raw, []byte(name)) {
				t.Fatalf("GET %s shows a value or no name: %s", path, raw)
			}
		}

		t.Run("ErrBadBody", func(t *testing.T) {
			b.api.must(t, "PUT", "/api/v1/secrets/"+name, map[string]string{}, nil, 400)
			b.api.must(t, "PUT", "/api/v1/secrets/"+name, map[string]any{"value": "x", "vaule": "y"}, nil, 400)
			b.api.must(t, "PUT", "/api/v1/secrets/bad%20name", map[string]string{"value": "x"}, nil, 400)
		})
		t.Run("Roles", func(t *testing.T) {
			var created struct{ ID, Secret string }
			b.api.must(t, "POST", "/api/v1/clients", map[string]string{"name": unique("runner"), "role": "runner"}, &created, 201)
			runner := &client{base: b.app.URL}
			if err := runner.login(created.ID, created.Secret); err != nil {
				t.Fatal(err)
			}
			runner.must(t, "GET", "/api/v1/secrets", nil, nil, 403)
			runner.must(t, "GET", "/api/v1/secrets/"+name, nil, nil, 403)
			runner.must(t, "PUT", "/api/v1/secrets/"+name, map[string]string{"value": "x"}, nil, 403)
			runner.must(t, "DELETE", "/api/v1/secrets/"+name, nil, nil, 403)
			runner.must(t, "GET", "/api/v1/connectors", nil, nil, 200)
			runner.must(t, "PUT", "/api/v1/connectors/"+unique("c"), map[string]any{"connector_type": "REST"}, nil, 403)
		})

		b.api.must(t, "DELETE", "/api/v1/secrets/"+name, nil, nil, 204)
		b.api.must(t, "GET", "/api/v1/secrets/"+name, nil, nil, 404)
		b.api.must(t, "DELETE", "/api/v1/secrets/"+name, nil, nil, 404)
	})
}

// credServer answers 200 with what it saw, including the credential itself (as an
// echo service would), only when the request carries the expected Authorization.
func credServer(t *testing.T, wantAuth func() string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		if got != wantAuth() {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error": "bad credentials"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "authorization": got, "path": r.URL.Path, "extra": r.Header.Get("X-Extra")})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSavedConnectorWithSecret: a saved connector whose password is a secret is
// 001 until the secret exists, healthy after a test, and called from a flow
// sends the right credential, while the secret appears nowhere: not in the
// execution, its children, logs or the workflow history.
func TestSavedConnectorWithSecret(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		secret, password := unique("pw"), "hunter2-"+unique("p")+"/+&?"
		srv := credServer(t, func() string {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte("svc:"+password))
		})
		conn := unique("billing")
		var saved struct {
			Name  string `json:"name"`
			State struct {
				Code    string   `json:"code"`
				Reason  string   `json:"reason"`
				Healthy bool     `json:"healthy"`
				Missing []string `json:"missing"`
			} `json:"state"`
		}
		b.api.must(t, "PUT", "/api/v1/connectors/"+conn, map[string]any{
			"connector_type": "REST", "description": "billing API",
			"inputs":  map[string]any{"url": srv.URL + "/invoices", "authentication_method": "basic", "username": "svc", "password": map[string]string{"secret": secret}},
			"domains": []string{"127.0.0.1"},
		}, &saved, 201)
		if saved.State.Code != "001" || saved.State.Reason != "Requires configuration" || saved.State.Healthy || len(saved.State.Missing) != 1 || saved.State.Missing[0] != "secret "+secret {
			t.Fatalf("state without the secret: %+v", saved.State)
		}

		flow := unique("billing_flow")
		pushFlow(t, b.api, flow, `function handler(system, inputs) {
  const c = this.connect(inputs.conn, {headers: {'X-Extra': 'override'}});
  const out = c.get('output_value');
  this.log('answer', JSON.stringify(out.json), out.message);
  return {json: out.json, inputs: c.get('input_value'), name: c.get('name')};
}`)

		t.Run("ErrMissingSecret", func(t *testing.T) {
			e := runFlow(t, b.api, flow, map[string]any{"conn": conn})
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, `secret "`+secret+`" does not exist`) || !strings.Contains(e.StatusMessage, "PUT /api/v1/secrets/"+secret) {
				t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
			}
		})

		putSecret(t, b.api, secret, password)
		b.api.must(t, "GET", "/api/v1/connectors/"+conn, nil, &saved, 200)
		if saved.State.Code != "002" || saved.State.Healthy {
			t.Fatalf("state with the secret, untested: %+v", saved.State)
		}
		var tested struct {
			Connector struct {
				State struct {
					Code    string `json:"code"`
					Healthy bool   `json:"healthy"`
				} `json:"state"`
			} `json:"connector"`
			Test struct {
				OK         bool   `json:"ok"`
				Message    string `json:"message"`
				StatusCode int    `json:"status_code"`
			} `json:"test"`
		}
		b.api.must(t, "POST", "/api/v1/connectors/"+conn+"/test", nil, &tested, 200)
		if !tested.Test.OK || tested.Test.StatusCode != 200 || tested.Connector.State.Code != "000" || !tested.Connector.State.Healthy {
			t.Fatalf("test: %+v", tested)
		}
		b.api.must(t, "GET", "/api/v1/connectors/"+conn, nil, &saved, 200)
		if !saved.State.Healthy || saved.State.Code != "000" {
			t.Fatalf("state after the test: %+v", saved.State)
		}

		e := runFlow(t, b.api, flow, map[string]any{"conn": conn})
		if e.Status != "ENDED_SUCCESS" {
			t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
		}
		out, _ := json.Marshal(e.Outputs)
		// The server saw the credential and echoed it; the flow sees it redacted.
		for _, want := range []string{`"ok":true`, `"extra":"override"`, `"path":"/invoices"`, `[redacted]`, `"name":"` + conn + `"`, `"password":{"secret":"` + secret + `"}`} {
			if !strings.Contains(string(out), want) {
				t.Errorf("outputs lack %s: %s", want, out)
			}
		}
		kids := childrenOf(t, b.api, e.ID)
		if len(kids) != 1 || kids[0].Name != conn || kids[0].Inputs["connector_type"] != "REST" {
			t.Fatalf("children: %+v", kids)
		}
		assertNoSecret(t, b, e.ID, secretForms("svc", password)...)

		t.Run("InlineBearer", func(t *testing.T) {
			tokName, token := unique("tok"), "tok-"+unique("t")
			putSecret(t, b.api, tokName, token)
			srv := credServer(t, func() string { return "Bearer " + token })
			f := unique("inline_bearer")
			pushFlow(t, b.api, f, `function handler(system, inputs) {
  const c = this.connect({connector_type: 'REST', url: inputs.url, authentication_method: 'bearer', token: system.secret('`+tokName+`')});
  this.log(JSON.stringify(c.get('output_value')));
  return c.get('output_value').json;
}`)
			e := runFlow(t, b.api, f, map[string]any{"url": srv.URL + "/me", "tok": tokName})
			if e.Status != "ENDED_SUCCESS" || e.Outputs["authorization"] != "Bearer [redacted]" {
				t.Fatalf("ended %s %s: %v", e.Status, e.StatusMessage, e.Outputs)
			}
			assertNoSecret(t, b, e.ID, secretForms("", token)...)
		})
		t.Run("ErrWrongCredential", func(t *testing.T) {
			// A failed test is recorded and shown as state 003, redacted.
			putSecret(t, b.api, secret, "wrong-"+password)
			b.api.must(t, "POST", "/api/v1/connectors/"+conn+"/test", nil, &tested, 200)
			if tested.Test.OK || tested.Test.StatusCode != 401 || tested.Connector.State.Code != "003" || strings.Contains(tested.Test.Message, password) {
				t.Fatalf("test: %+v", tested)
			}
		})
		t.Run("UnknownConnector", func(t *testing.T) {
			e := runFlow(t, b.api, flow, map[string]any{"conn": unique("nope")})
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "there is no saved connector") {
				t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
			}
		})
	})
}

// TestSavedConnectorDomains: calls through a saved connector reach only its
// domains, whatever the flow overrides and wherever a redirect points.
func TestSavedConnectorDomains(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hop" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
			return
		}
		w.Write([]byte(`{"reached": true}`))
	}))
	defer srv.Close()
	other := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) // the same server under another name
	each(t, func(t *testing.T, b *backend) {
		conn := unique("fenced")
		b.api.must(t, "PUT", "/api/v1/connectors/"+conn, map[string]any{
			"connector_type": "REST", "inputs": map[string]any{"url": srv.URL + "/ok"}, "domains": []string{"127.0.0.1"},
		}, nil, 201)
		b.api.must(t, "PUT", "/api/v1/connectors/"+unique("bad"), map[string]any{"connector_type": "REST", "domains": []string{"https://api.example.com/x"}}, nil, 400)
		b.api.must(t, "PUT", "/api/v1/connectors/"+unique("bad"), map[string]any{"connector_type": "SOAP"}, nil, 400)
		b.api.must(t, "PUT", "/api/v1/connectors/"+unique("bad"), map[string]any{"connector_type": "REST", "domain": []string{"x.com"}}, nil, 400)

		flow := unique("fenced_flow")
		pushFlow(t, b.api, flow, `function handler(system, inputs) {
  const results = {};
  for (const [name, url] of Object.entries(inputs.urls)) {
    try {
      const c = this.connect(inputs.conn, url ? {url: url} : {});
      results[name] = c.get('output_value').json.reached;
    } catch (e) {
      results[name] = e.execution.get('status') + ': ' + e.execution.get('status_message');
    }
  }
  return results;
}`)
		e := runFlow(t, b.api, flow, map[string]any{"conn": conn, "urls": map[string]any{
			"saved": "", "override": other + "/ok", "redirect": srv.URL + "/hop?to=" + url.QueryEscape(other+"/ok"),
		}})
		if e.Status != "ENDED_SUCCESS" {
			t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
		}
		if e.Outputs["saved"] != true {
			t.Fatalf("the saved URL was not reached: %v", e.Outputs)
		}
		for _, k := range []string{"override", "redirect"} {
			got, _ := e.Outputs[k].(string)
			if !strings.HasPrefix(got, "ENDED_ERROR: ") || !strings.Contains(got, "host localhost is not in this connector's allowed domains (127.0.0.1)") {
				t.Errorf("%s: %v", k, e.Outputs[k])
			}
		}
	})
}

// TestGrantClientCredentials: a REST call with a saved client_credentials grant
// gets its token once for calls in several executions, and the client secret
// appears nowhere.
func TestGrantClientCredentials(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		secretName, clientSecret := unique("cs"), "cs-"+unique("v")
		token := "at-" + unique("t")
		var tokenRequests atomic.Int32
		tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tokenRequests.Add(1)
			user, pass, ok := r.BasicAuth()
			if err := r.ParseForm(); err != nil || !ok || user != "flowd-client" || pass != clientSecret ||
				r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("scope") != "read" || r.PostForm.Get("audience") != "https://api" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				w.Write([]byte(`{"error": "invalid_client"}`))
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": 3600}`, token)
		}))
		defer tokens.Close()
		api := credServer(t, func() string { return "Bearer " + token })

		grant := unique("foundry")
		t.Run("ErrClearSecret", func(t *testing.T) {
			b.api.must(t, "PUT", "/api/v1/grants/"+grant, map[string]any{"type": "client_credentials", "token_url": tokens.URL, "client_id": "x", "client_secret": "in clear"}, nil, 400)
			b.api.must(t, "PUT", "/api/v1/grants/"+grant, map[string]any{"type": "password", "token_url": tokens.URL}, nil, 400)
		})
		var g map[string]any
		b.api.must(t, "PUT", "/api/v1/grants/"+grant, map[string]any{
			"type": "client_credentials", "token_url": tokens.URL, "client_id": "flowd-client",
			"client_secret": map[string]string{"secret": secretName}, "scope": "read", "audience": "https://api", "auth_style": "header",
		}, &g, 201)
		if g["name"] != grant || g["client_id"] != "flowd-client" {
			t.Fatalf("PUT grant answered %v", g)
		}
		var list struct {
			Items []map[string]any `json:"items"`
		}
		b.api.must(t, "GET", "/api/v1/grants", nil, &list, 200)
		if len(list.Items) == 0 {
			t.Fatal("no grants listed")
		}

		flow := unique("oauth_flow")
		pushFlow(t, b.api, flow, fmt.Sprintf(`function handler(system, inputs) {
  const got = [];
  for (let i = 0; i < 2; i++) {
    const c = this.connect({connector_type: 'REST', url: inputs.url + '/items/' + i, authentication_method: 'oauth2', grant: system.grant(%q)});
    got.push(c.get('output_value').json.path);
  }
  return {paths: got};
}`, grant))
		t.Run("ErrMissingSecret", func(t *testing.T) {
			e := runFlow(t, b.api, flow, map[string]any{"url": api.URL, "grant": grant})
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, `secret "`+secretName+`" does not exist`) {
				t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
			}
		})
		putSecret(t, b.api, secretName, clientSecret)
		var ids []string
		for range 2 {
			e := runFlow(t, b.api, flow, map[string]any{"url": api.URL, "grant": grant})
			if e.Status != "ENDED_SUCCESS" {
				t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
			}
			if got, _ := json.Marshal(e.Outputs["paths"]); string(got) != `["/items/0","/items/1"]` {
				t.Fatalf("paths %s", got)
			}
			ids = append(ids, e.ID)
		}
		if n := tokenRequests.Load(); n != 1 {
			t.Fatalf("%d token requests for 4 calls in 2 executions, want 1", n)
		}
		for _, id := range ids {
			assertNoSecret(t, b, id, secretForms("flowd-client", clientSecret)...)
		}
	})
}
