package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
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

// redactionServer is an API that hands a secret back in every way a careless
// or hostile one might: /echo answers text with the secret it got in the JSON
// body {"v": ...} in each encoding (so flowd keeps the body as text, escapes
// and all), /fail answers 422 with the raw secret where flowd cuts its excerpt
// of the body, and /binary answers a binary body holding the secret's bytes
// (800 KB of them with ?large=1, too large for the outputs).
func redactionServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ V string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.V == "" {
			http.Error(w, "send {\"v\": ...}", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/echo":
			w.Header().Set("Content-Type", "text/html")
			goJSON, _ := json.Marshal(in.V)
			fmt.Fprintf(w, "<pre>raw %s\ngo-json %s\nplain-json \"%s\"\nphp-json \"%s\"\nquoted %s\nquery ?v=%s\npath /%s\nurl %s\nbase64 %s\nbase64url %s\nbasic Basic %s\n</pre>",
				in.V, goJSON, plainJSON(in.V), strings.ReplaceAll(plainJSON(in.V), "/", `\/`), strconv.Quote(in.V),
				url.QueryEscape(in.V), url.PathEscape(in.V), (&url.URL{Scheme: "https", Host: "api.example.com", Path: "/v1/" + in.V}).String(),
				base64.StdEncoding.EncodeToString([]byte(in.V)), base64.RawURLEncoding.EncodeToString([]byte(in.V)),
				base64.StdEncoding.EncodeToString([]byte("svc:"+in.V)))
		case "/fail":
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprintf(w, "%s %s", strings.Repeat("x", 170), in.V)
		case "/binary":
			w.Header().Set("Content-Type", "application/octet-stream")
			if r.URL.Query().Get("large") != "" {
				w.Write(make([]byte, 800<<10))
			}
			w.Write(append(append([]byte{0x89, 0, 0xff}, in.V...), 0, 0xfe))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// plainJSON is s inside a JSON string as JSON.stringify writes it: only quotes,
// backslashes and control characters escaped.
func plainJSON(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(strings.TrimSpace(b.String()), `"`)[1:]
}

// leakForms are the ways a secret could appear in what a viewer reads: each
// text form (as it is, percent-encoded as query, path segment and path,
// Go-quoted, and with its whitespace collapsed as an excerpt would) alone and
// inside JSON (the API's answers and Temporal's payloads are JSON), base64
// alone, inside a Basic auth header, and at any offset inside a longer base64
// text (a binary body or file as base64), and the first half of the secret (an
// excerpt cut in the middle of it).
func leakForms(user, value string) []string {
	texts := []string{value, url.QueryEscape(value), url.PathEscape(value), (&url.URL{Path: value}).EscapedPath(),
		strconv.Quote(value)[1 : len(strconv.Quote(value))-1], strings.Join(strings.Fields(value), " "), value[:len(value)/2]}
	var forms []string
	for _, t := range texts {
		goJSON, _ := json.Marshal(t)
		forms = append(forms, t, string(goJSON[1:len(goJSON)-1]), plainJSON(t))
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(value)), enc.EncodeToString([]byte(user+":"+value)))
		for k := 0; k < 3; k++ { // the middle of the secret's base64 at each alignment
			e := enc.EncodeToString(append(make([]byte, k), value...))
			forms = append(forms, e[4:len(e)-4])
		}
	}
	return forms
}

// sse returns the log of an execution as server-sent events, read until the
// stream's end (the execution has ended).
func sse(t *testing.T, c *client, id string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+"/api/v1/executions/"+id+"/logs", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !bytes.Contains(data, []byte("event: end")) {
		t.Fatalf("SSE of %s: HTTP %d %v: %s", id, resp.StatusCode, err, data)
	}
	return data
}

// mustViewer returns a client with the viewer role on b.
func mustViewer(t *testing.T, b *backend) *client {
	t.Helper()
	var created struct{ ID, Secret string }
	b.api.must(t, "POST", "/api/v1/clients", map[string]string{"name": unique("viewer"), "role": "viewer"}, &created, 201)
	v := &client{base: b.app.URL}
	if err := v.login(created.ID, created.Secret); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRedactionForViewers: a secret with every character some encoding changes
// (< > & " \ space tab / ; , + ? # % ü), sent by saved connectors to an API that
// hands it back in every encoding, in an error body, in a binary body stored
// with dst and in one too large for the outputs, and placed in the path and
// query of a URL that cannot be reached, appears in no form in anything a
// viewer can read: executions, children, logs, the log stream, lists, stored
// files, and the Temporal history. The marker does not name the secret.
func TestRedactionForViewers(t *testing.T) {
	srv := redactionServer(t)
	closed := freePort(t)
	each(t, func(t *testing.T, b *backend) {
		name := unique("redact_pw")
		value := "sp<ec>&\"\\ " + unique("v") + " /;,+?#%ü\tend"
		putSecret(t, b.api, name, value)
		ref := map[string]string{"secret": name}
		conns := map[string]map[string]any{
			"echo":    {"url": srv.URL + "/echo", "json": map[string]any{"v": ref}},
			"fail":    {"url": srv.URL + "/fail", "json": map[string]any{"v": ref}},
			"binary":  {"url": srv.URL + "/binary", "json": map[string]any{"v": ref}},
			"large":   {"url": srv.URL + "/binary?large=1", "json": map[string]any{"v": ref}},
			"unreach": {"scheme": "http", "hostname": "127.0.0.1", "port": closed, "base_path": ref, "params": map[string]any{"sig": ref}, "retry_backoff": map[string]any{"deadline": 0}},
		}
		saved := map[string]string{} // the saved connectors' names
		for c, in := range conns {
			saved[c] = unique("redact_" + c)
			b.api.must(t, "PUT", "/api/v1/connectors/"+saved[c], map[string]any{"connector_type": "REST", "inputs": in}, nil, 201)
		}

		flow, failing, dst := unique("redact_flow"), unique("redact_fail"), unique("redact_file")
		pushFlow(t, b.api, flow, `function handler(system, inputs) {
  const echo = this.connect(inputs.echo, {}).get('output_value');
  this.log('echo', echo);
  let failed = '', unreachable = '';
  try { this.connect(inputs.fail, {}); } catch (e) {
    if (!e.execution) throw e;
    failed = e.execution.get('status_message');
    this.log('failed', failed, e.execution.get('output_value'));
  }
  try { this.connect(inputs.unreach, {}); } catch (e) {
    if (!e.execution) throw e;
    unreachable = e.execution.get('status_message');
    this.log('unreachable', unreachable, e.execution.get('output_value'));
  }
  const dst = this.connect(inputs.binary, {dst: inputs.dst}).get('output_value');
  const inline = this.connect(inputs.binary, {}).get('output_value');
  const large = this.connect(inputs.large, {}).get('output_value');
  const stored = system.file(inputs.dst).get_base64_content();
  this.log('stored', stored);
  return {echo: echo, failed: failed, unreachable: unreachable, dst: dst, inline: inline, large: large, stored: stored};
}`)
		pushFlow(t, b.api, failing, `function handler(system, inputs) {
  this.connect(inputs.unreach, {});
}`)
		inputs := map[string]any{"dst": dst}
		for c, n := range saved {
			inputs[c] = n
		}
		e := runFlow(t, b.api, flow, inputs)
		if e.Status != "ENDED_SUCCESS" {
			t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
		}
		f := runFlow(t, b.api, failing, inputs)
		if f.Status != "ENDED_ERROR" {
			t.Fatalf("the failing flow ended %s: %s", f.Status, f.StatusMessage)
		}

		// The calls happened and their results were redacted, not lost.
		echo, _ := e.Outputs["echo"].(map[string]any)
		text, _ := echo["text"].(string)
		failed, _ := e.Outputs["failed"].(string)
		unreachable, _ := e.Outputs["unreachable"].(string)
		large, _ := e.Outputs["large"].(map[string]any)
		largeFile, _ := large["body_file"].(string)
		for what, got := range map[string]string{"echo": text, "failed": failed, "unreachable": unreachable} {
			if !strings.Contains(got, "[redacted]") {
				t.Errorf("%s = %q, want the secret redacted", what, got)
			}
		}
		if !strings.Contains(text, `go-json "[redacted]"`) || !strings.Contains(failed, "answered 422") || !strings.Contains(unreachable, "127.0.0.1:"+strconv.Itoa(closed)) {
			t.Errorf("unexpected outputs: %v", e.Outputs)
		}
		if largeFile == "" {
			t.Fatalf("the large body is not in a file: %v", large)
		}

		viewer := mustViewer(t, b)
		var dstFile, bigFile struct{ Base64 string }
		viewer.must(t, "GET", "/api/v1/files/"+dst, nil, &dstFile, 200)
		viewer.must(t, "GET", "/api/v1/files/"+largeFile, nil, &bigFile, 200)
		for what, b64 := range map[string]string{"dst file": dstFile.Base64, "large body file": bigFile.Base64} {
			content, _ := base64.StdEncoding.DecodeString(b64)
			if !bytes.Contains(content, []byte("[redacted]")) || !bytes.Contains(content, []byte{0x89, 0, 0xff}) {
				t.Errorf("%s holds %q, want the binary body with the secret redacted", what, content[max(0, len(content)-80):])
			}
		}

		// Everything a viewer can read about both runs.
		places := map[string][]byte{
			"files list":      rawGet(t, viewer, "/api/v1/files"),
			"dst file":        rawGet(t, viewer, "/api/v1/files/"+dst),
			"large body file": rawGet(t, viewer, "/api/v1/files/"+largeFile),
			"executions list": rawGet(t, viewer, "/api/v1/executions"),
		}
		for _, root := range []string{e.ID, f.ID} {
			ids := []string{root}
			for _, kid := range childrenOf(t, viewer, root) {
				ids = append(ids, kid.ID)
			}
			places["children of "+root] = rawGet(t, viewer, "/api/v1/executions/"+root+"/children")
			places["list of "+root] = rawGet(t, viewer, "/api/v1/executions?root_id="+root)
			places["history of "+root] = history(t, b, root)
			for _, id := range ids {
				places["execution "+id] = rawGet(t, viewer, "/api/v1/executions/"+id)
				places["logs of "+id] = rawGet(t, viewer, "/api/v1/executions/"+id+"/logs")
				places["log stream of "+id] = sse(t, viewer, id)
			}
		}
		forms := leakForms("svc", value)
		for where, data := range places {
			for _, form := range forms {
				if bytes.Contains(data, []byte(form)) {
					t.Errorf("secret form %q found in %s: %s", form, where, data)
				}
			}
			if bytes.Contains(data, []byte("[redacted:")) {
				t.Errorf("%s names a redacted secret: %s", where, data)
			}
			// The secret's name is configuration (saved connectors and the
			// recorded inputs hold the reference, and so do the executions in
			// the log stream's status events); redacted text never shows it.
			if (strings.HasPrefix(where, "logs of ") || strings.HasSuffix(where, "file") || where == "files list") && bytes.Contains(data, []byte(name)) {
				t.Errorf("%s shows the secret's name %s: %s", where, name, data)
			}
		}
		for _, id := range []string{e.ID, f.ID} {
			var ex execution
			viewer.must(t, "GET", "/api/v1/executions/"+id, nil, &ex, 200)
			out, _ := json.Marshal(ex.Outputs)
			if strings.Contains(ex.StatusMessage, name) || bytes.Contains(out, []byte(name)) {
				t.Errorf("execution %s shows the secret's name %s: %s %s", id, name, ex.StatusMessage, out)
			}
		}
	})
}

// TestRedirectKeepsCredentials: a saved connector's credentials never follow a
// redirect to another origin (here another port): a 307 that would re-send the
// JSON body with the password fails the connection with a message that says
// what to do, and a 302 reaches the other origin with neither the flow's
// headers, nor the query api_key, nor a Referer naming the signed URL.
func TestRedirectKeepsCredentials(t *testing.T) {
	var got struct {
		sync.Mutex
		reqs []*http.Request
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Lock()
		got.reqs = append(got.reqs, r.Clone(context.Background()))
		got.Unlock()
		w.Write([]byte(`{"reached": true}`))
	}))
	t.Cleanup(other.Close)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		http.Redirect(w, r, other.URL+r.URL.Path+"?"+r.URL.RawQuery, code) // a careless server: the query goes along
	}))
	t.Cleanup(first.Close)
	each(t, func(t *testing.T, b *backend) {
		pw, key := unique("redirect_pw"), unique("redirect_key")
		pwValue, keyValue := "pw-"+unique("v"), "key-"+unique("v")
		putSecret(t, b.api, pw, pwValue)
		putSecret(t, b.api, key, keyValue)
		headers := map[string]any{"X-Custom-Auth": map[string]string{"secret": pw}, "X-Api-Signature": "sig-" + pwValue[:6], "Accept": "application/json"}
		login, fetch := unique("redirect_login"), unique("redirect_fetch")
		b.api.must(t, "PUT", "/api/v1/connectors/"+login, map[string]any{"connector_type": "REST", "inputs": map[string]any{
			"url": first.URL + "/login?code=307", "headers": headers, "json": map[string]any{"password": map[string]string{"secret": pw}}}}, nil, 201)
		b.api.must(t, "PUT", "/api/v1/connectors/"+fetch, map[string]any{"connector_type": "REST", "inputs": map[string]any{
			"url": first.URL + "/fetch?code=302&sig=signed", "headers": headers, "api_key": map[string]string{"secret": key}, "api_key_in": "query"}}, nil, 201)
		flow := unique("redirect_flow")
		pushFlow(t, b.api, flow, `function handler(system, inputs) {
  let login = '';
  try { this.connect(inputs.login, {}); } catch (e) {
    if (!e.execution) throw e;
    login = e.execution.get('status_message');
  }
  return {login: login, fetch: this.connect(inputs.fetch, {}).get('output_value').json};
}`)
		got.Lock()
		got.reqs = nil
		got.Unlock()
		e := runFlow(t, b.api, flow, map[string]any{"login": login, "fetch": fetch})
		if e.Status != "ENDED_SUCCESS" {
			t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
		}
		msg, _ := e.Outputs["login"].(string)
		for _, want := range []string{"POST " + first.URL + "/login?code=307 was redirected (307 Temporary Redirect) to another origin", "with the request body", "If you trust " + other.URL + "/login"} {
			if !strings.Contains(msg, want) {
				t.Errorf("login failed with %q, want it to say %q", msg, want)
			}
		}
		got.Lock()
		defer got.Unlock()
		if len(got.reqs) != 1 || got.reqs[0].URL.Path != "/fetch" {
			t.Fatalf("the other origin got %d requests, want only the GET /fetch: %v", len(got.reqs), got.reqs)
		}
		r := got.reqs[0]
		for name := range r.Header {
			if name != "Accept" && name != "Accept-Encoding" && name != "User-Agent" {
				t.Errorf("header %s: %q reached the other origin", name, r.Header.Get(name))
			}
		}
		if r.URL.Query().Has("api_key") || r.URL.Query().Get("sig") != "signed" {
			t.Errorf("query at the other origin: %q, want sig without api_key", r.URL.RawQuery)
		}
		assertNoSecret(t, b, e.ID, leakForms("", pwValue)...)
		assertNoSecret(t, b, e.ID, leakForms("", keyValue)...)
	})
}
