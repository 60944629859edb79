package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// seen is one request a recorder received.
type seen struct {
	Method, Path, Query string
	Header              http.Header
	User, Password      string
	HasBasic            bool
	Body                string
}

// dump is everything about the request as text, decoded and raw, to search for a
// value in any place it could have been put.
func (s seen) dump() string {
	h, _ := json.Marshal(s.Header)
	q, _ := url.QueryUnescape(s.Query)
	return strings.Join([]string{s.Method, s.Path, s.Query, q, string(h), s.User, s.Password, s.Body}, "\n")
}

// recorder is a real HTTP server that keeps every request it receives. It answers
// POST /login with a token and anything else with a small JSON document.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)}
		s.User, s.Password, s.HasBasic = r.BasicAuth()
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, s)
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/login":
			w.Write([]byte(`{"data": {"token": "tok-from-login"}}`))
		case strings.HasSuffix(r.URL.Path, "/leak"):
			// A response that looks like a secret reference: connect outputs are data.
			w.Write([]byte(`{"secret": ` + strconv.Quote(r.URL.Query().Get("name")) + `}`))
		default:
			w.Write([]byte(`{"data": [1, 2, 3], "url": "x", "args": {}}`))
		}
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) requests() []seen {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seen(nil), rec.reqs...)
}

// assertNever fails when any request rec received holds value, in any form.
func (rec *recorder) assertNever(t *testing.T, value string) {
	t.Helper()
	for _, r := range rec.requests() {
		for _, f := range secretForms("", value) {
			if strings.Contains(r.dump(), f) {
				t.Errorf("the listener received the secret (%q) in %s %s: %s", f, r.Method, r.Path, r.dump())
			}
		}
	}
}

// find returns the requests to path.
func (rec *recorder) find(path string) []seen {
	var out []seen
	for _, r := range rec.requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// TestSecretRefs: a stored secret is used only where the flow's code names it
// (system.secret) or a saved connector does; {"secret": NAME} that arrives as data —
// inputs, webhook bodies and queries, connect and child outputs, settings, files,
// message answers — is passed on as it is, whoever runs the flow. Each case checks
// what a real listener receives.
func TestSecretRefs(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		// Each case has its own listeners, so that a failure names the case that leaked.
		var attacker, legit *recorder
		fresh := func(t *testing.T) {
			attacker, legit = newRecorder(t), newRecorder(t)
		}
		plain, value := unique("plain"), "PLAINsecretVALUE"+unique("")
		putSecret(t, b.api, plain, value)
		runner := newRoleClient(t, b, "runner")

		t.Run("RunnerURLParts", func(t *testing.T) {
			fresh(t)
			// The reproducer: the seeded url_parts example with a reference
			// as base_path, started by a runner (who may not read secrets).
			flow := pushExampleUnique(t, b, "url_parts")
			attackerHost, attackerPort, _ := strings.Cut(strings.TrimPrefix(attacker.URL, "http://"), ":")
			port, _ := strconv.Atoi(attackerPort)
			before := len(attacker.requests())
			e := runFlow(t, runner, flow, map[string]any{"hostname": attackerHost, "port": port, "base_path": map[string]string{"secret": plain}})
			attacker.assertNever(t, value)
			if e.Status != "ENDED_ERROR" {
				t.Errorf("ended %s %q: base_path is an object, which the REST connector refuses", e.Status, e.StatusMessage)
			}
			// The same call with a text base_path reaches the listener: it was
			// reachable, and only the reference was refused.
			e = runFlow(t, runner, flow, map[string]any{"hostname": attackerHost, "port": port, "base_path": "reachable"})
			if e.Status != "ENDED_SUCCESS" || len(attacker.requests()) <= before {
				t.Fatalf("control run ended %s %q; the listener got %d requests", e.Status, e.StatusMessage, len(attacker.requests())-before)
			}
			assertNoSecret(t, b, e.ID, value)
		})

		t.Run("RunnerCustomAuth", func(t *testing.T) {
			fresh(t)
			// The seeded custom_auth example names its secret in its code and takes
			// its URLs from a setting: a runner's auth_url, url and secret name are
			// ignored, and the password goes only to the editor's auth URL.
			b.api.must(t, "PUT", "/api/v1/secrets/feed_password", map[string]string{"value": value}, nil, 200, 201)
			b.api.must(t, "PUT", "/api/v1/settings/feed_api", map[string]any{"value": map[string]any{
				"auth_url": legit.URL + "/login", "url": legit.URL + "/get-data", "username": "feeds"}}, nil, 200)
			flow := pushExampleUnique(t, b, "custom_auth")
			e := runFlow(t, runner, flow, map[string]any{"auth_url": attacker.URL + "/login", "url": attacker.URL + "/get-data",
				"username": "x", "password_secret": plain})
			if e.Status != "ENDED_SUCCESS" || e.Outputs["records"] != float64(3) {
				t.Fatalf("ended %s %q: %v", e.Status, e.StatusMessage, e.Outputs)
			}
			attacker.assertNever(t, value)
			for _, r := range attacker.requests() {
				if r.Path == "/login" || r.Path == "/get-data" {
					t.Errorf("the runner's URL was called: %s %s", r.Method, r.Path)
				}
			}
			logins := legit.find("/login")
			if len(logins) == 0 {
				t.Fatal("the auth URL of the setting was not called")
			}
			var body struct{ Username, Password string }
			if err := json.Unmarshal([]byte(logins[len(logins)-1].Body), &body); err != nil || body.Password != value || body.Username != "feeds" {
				t.Errorf("login body %q, want the stored password", logins[len(logins)-1].Body)
			}
			assertNoSecret(t, b, e.ID, value)
		})

		t.Run("WebhookRelay", func(t *testing.T) {
			fresh(t)
			// A webhook's body and query, relayed by json: ..., go on as data.
			flow, hook := unique("relay"), unique("relayhook")
			pushFlow(t, b.api, flow, fmt.Sprintf(`function handler(system, inputs) {
  this.connect({connector_type: 'REST', method: 'POST', url: %q, json: {body: inputs.json, query: inputs.query}});
  return {ok: true};
}`, attacker.URL+"/relay/"+flow))
			var created struct{ Key string }
			b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow}, &created, 201)
			st, _, reply := hookCall(t, "POST", b.app.URL+"/api/v1/webhooks/"+hook+"/call?secret="+plain,
				map[string]string{"X-Flowd-Key": created.Key, "Content-Type": "application/json"}, []byte(`{"note": {"secret": "`+plain+`"}}`))
			if st != 200 {
				t.Fatalf("webhook call: HTTP %d %s", st, reply)
			}
			got := attacker.find("/relay/" + flow)
			if len(got) != 1 {
				t.Fatalf("the listener got %d relayed requests, want 1", len(got))
			}
			want := `{"body":{"note":{"secret":"` + plain + `"}},"query":{"secret":"` + plain + `"}}`
			if got[0].Body != want {
				t.Errorf("relayed body %s, want the data as it came: %s", got[0].Body, want)
			}
			attacker.assertNever(t, value)
		})

		t.Run("DataFromEverywhere", func(t *testing.T) {
			fresh(t)
			// {secret: NAME} in connect outputs, a child's outputs, a setting, a file
			// and a message answer: all relayed as they are.
			child, flow := unique("echo_child"), unique("gather")
			setting, file := unique("ref_setting"), unique("ref_file")+".json"
			pushFlow(t, b.api, child, `function handler(system, inputs) { return {ref: {['secret']: inputs.name}}; }`)
			pushFlow(t, b.api, flow, fmt.Sprintf(`function handler(system, inputs) {
  const leaked = this.connect({connector_type: 'REST', url: %q, params: {name: inputs.name}}).get('output_value').json;
  const fromChild = this.flow(%q, {name: inputs.name}).get('output_value').ref;
  const fromSetting = system.setting(%q).get('value');
  const fromFile = JSON.parse(system.file(%q).get_text_content());
  const answer = this.message({subject: 'relay?'});
  this.connect({connector_type: 'REST', method: 'POST', url: %q,
    headers: {'X-From-Answer': answer.header || ''},
    json: {connect: leaked, child: fromChild, setting: fromSetting, file: fromFile, answer: answer.ref}});
  return {ok: true};
}`, attacker.URL+"/leak", child, setting, file, attacker.URL+"/gathered/"+flow))
			ref := map[string]string{"secret": plain}
			b.api.must(t, "PUT", "/api/v1/settings/"+setting, map[string]any{"value": ref}, nil, 200)
			b.api.must(t, "PUT", "/api/v1/files/"+file, map[string]string{"text": `{"secret":"` + plain + `"}`}, nil, 200, 201)
			var e execution
			runner.must(t, "POST", "/api/v1/flows/"+flow+"/executions", map[string]any{"inputs": map[string]any{"name": plain}}, &e, 201)
			eventually(t, 60*time.Second, "the execution shows its message", func() (bool, string) {
				var cur struct {
					Status  string          `json:"status"`
					Message json.RawMessage `json:"message"`
				}
				st, err := runner.call("GET", "/api/v1/executions/"+e.ID, nil, &cur)
				return err == nil && st == 200 && len(cur.Message) > 0 && string(cur.Message) != "null", fmt.Sprintf("HTTP %d %v %s %s", st, err, cur.Status, cur.Message)
			})
			runner.must(t, "POST", "/api/v1/executions/"+e.ID+"/messages", map[string]any{"answer": map[string]any{"ref": ref}}, nil, 202)
			if e = waitEnded(t, runner, e.ID, 60*time.Second); e.Status != "ENDED_SUCCESS" {
				t.Fatalf("ended %s %q", e.Status, e.StatusMessage)
			}
			got := attacker.find("/gathered/" + flow)
			if len(got) != 1 {
				t.Fatalf("the listener got %d gathered requests, want 1", len(got))
			}
			r := `{"secret":"` + plain + `"}`
			if want := `{"answer":` + r + `,"child":` + r + `,"connect":` + r + `,"file":` + r + `,"setting":` + r + `}`; got[0].Body != want {
				t.Errorf("relayed body %s, want %s", got[0].Body, want)
			}
			attacker.assertNever(t, value)
		})

		t.Run("HandleWorks", func(t *testing.T) {
			fresh(t)
			// system.secret in a header (template), basic auth, URL parts, a URL
			// template (percent-encoded) and the body.
			legitHost, legitPort, _ := strings.Cut(strings.TrimPrefix(legit.URL, "http://"), ":")
			name, spaced := unique("handle"), "hv "+unique("")+"/&?"
			putSecret(t, b.api, name, spaced)
			flow := unique("handles")
			pushFlow(t, b.api, flow, fmt.Sprintf(`function handler(system, inputs) {
  const s = system.secret(%[1]q);
  this.connect({connector_type: 'REST', url: s.template(%[2]q), method: 'POST',
    headers: {Authorization: s.template('Bearer {{secret}}'), 'X-Raw': system.secret(%[3]q)},
    json: {nested: [{key: s}]}});
  this.connect({connector_type: 'REST', scheme: 'http', hostname: %[4]q, port: %[5]s, base_path: system.secret(%[3]q), path: 'tail',
    authentication_method: 'basic', username: 'svc', password: s});
  return {ok: true};
}`, name, legit.URL+"/templ/"+flow+"?key={{secret|url}}", plain, legitHost, legitPort))
			e := runFlow(t, b.api, flow, nil)
			if e.Status != "ENDED_SUCCESS" {
				t.Fatalf("ended %s %q", e.Status, e.StatusMessage)
			}
			templ := legit.find("/templ/" + flow)
			if len(templ) != 1 {
				t.Fatalf("%d requests to the URL template", len(templ))
			}
			q, _ := url.ParseQuery(templ[0].Query)
			var body struct {
				Nested []struct{ Key string }
			}
			_ = json.Unmarshal([]byte(templ[0].Body), &body)
			if q.Get("key") != spaced || templ[0].Header.Get("Authorization") != "Bearer "+spaced || templ[0].Header.Get("X-Raw") != value ||
				len(body.Nested) != 1 || body.Nested[0].Key != spaced {
				t.Errorf("received %s", templ[0].dump())
			}
			parts := legit.find("/" + value + "/tail")
			if len(parts) != 1 || !parts[0].HasBasic || parts[0].User != "svc" || parts[0].Password != spaced {
				t.Errorf("URL parts and basic auth: %+v", legit.requests())
			}
			// The connections record where the secrets went, never their values.
			kids := childrenOf(t, b.api, e.ID)
			if raw, _ := json.Marshal(kids); !strings.Contains(string(raw), "Bearer [secret "+name+"]") {
				t.Errorf("children's inputs %s do not show the placeholder", raw)
			}
			assertNoSecret(t, b, e.ID, value, spaced)
		})

		t.Run("SavedConnector", func(t *testing.T) {
			fresh(t)
			// {secret: NAME} keeps working in a saved connector, which editors store;
			// a reference in the call's overrides is data even there.
			conn, flow := unique("saved_ref"), unique("use_saved")
			b.api.must(t, "PUT", "/api/v1/connectors/"+conn, map[string]any{"connector_type": "REST", "inputs": map[string]any{
				"url": legit.URL + "/saved/" + conn, "authentication_method": "basic", "username": "svc", "password": map[string]string{"secret": plain}}}, nil, 201)
			pushFlow(t, b.api, flow, fmt.Sprintf(`function handler(system, inputs) {
  return {status: this.connect(%q, inputs.overrides || {}).get('status')};
}`, conn))
			e := runFlow(t, runner, flow, nil)
			got := legit.find("/saved/" + conn)
			if e.Status != "ENDED_SUCCESS" || len(got) != 1 || got[0].Password != value {
				t.Fatalf("ended %s %q; requests %+v", e.Status, e.StatusMessage, got)
			}
			// A runner's overrides can send the saved credentials nowhere else: the
			// connector has no domains, so its destination is fixed.
			e = runFlow(t, runner, flow, map[string]any{"overrides": map[string]any{"url": attacker.URL + "/override"}})
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "may not change url") {
				t.Errorf("url override ended %s %q", e.Status, e.StatusMessage)
			}
			if len(attacker.find("/override")) != 0 {
				t.Error("the overridden url was called")
			}
			other, otherValue := unique("other"), "OTHERvalue"+unique("")
			putSecret(t, b.api, other, otherValue)
			e = runFlow(t, runner, flow, map[string]any{"overrides": map[string]any{
				"password": map[string]string{"secret": other}, "json": map[string]string{"secret": other}}})
			legit.assertNever(t, otherValue)
			attacker.assertNever(t, value)
		})

		t.Run("ErrOldFormInCode", func(t *testing.T) {
			fresh(t)
			flow := unique("old_form")
			var body struct {
				Error struct {
					Code, Message string
					Line, Column  int
				}
			}
			st, err := b.api.call("PUT", "/api/v1/flows/"+flow, map[string]string{"script": "function handler(system, inputs) {\n  return this.connect({connector_type: 'REST', url: inputs.url,\n    authentication_method: 'bearer', token: {secret: 'api_token'}});\n}"}, &body)
			if err != nil || st != 422 || body.Error.Code != "invalid_script" || body.Error.Line != 3 ||
				!strings.Contains(body.Error.Message, "system.secret('NAME')") || !strings.Contains(body.Error.Message, "{secret: 'api_token'}") {
				t.Fatalf("HTTP %d %v: %+v", st, err, body)
			}
			b.api.must(t, "GET", "/api/v1/flows/"+flow, nil, nil, 404)
			// Data that merely looks like a reference is not refused.
			pushFlow(t, b.api, flow, `function handler() { return {text: "{secret: 'x'}", computed: {['secret']: 'x'}, more: {secret: 'x', n: 1}}; }`)
		})
	})
}
