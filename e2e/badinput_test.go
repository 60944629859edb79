package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// apiError is the body of an error answer.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// mustError calls and fails the test unless the answer has status want and a message
// that contains every one of parts.
func mustError(t *testing.T, c *client, method, path string, in any, want int, parts ...string) {
	t.Helper()
	var e apiError
	st, err := c.call(method, path, in, &e)
	if err != nil {
		t.Fatalf("%s %.120s: %v", method, path, err)
	}
	if st != want {
		t.Fatalf("%s %.120s: HTTP %d %+v, want %d", method, path, st, e, want)
	}
	for _, p := range parts {
		if !strings.Contains(e.Error.Message, p) {
			t.Errorf("%s %.120s: message %q does not say %q", method, path, e.Error.Message, p)
		}
	}
}

// TestExecutionFilterLimits: thousands of input.* filters, or a filter value nested
// thousands deep, are a 422 that names the limit (they were 500s: "Expression tree
// is too large", "malformed JSON"); at the limits the list answers.
func TestExecutionFilterLimits(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		many := func(n int) string {
			q := url.Values{}
			for i := range n {
				q.Set(fmt.Sprintf("input.k%d", i), "1")
			}
			return "/api/v1/executions?" + q.Encode()
		}
		// (The reproducers of the report, 3,000 filters and 10,000 levels, are now
		// longer than the URL limit; these are as many as fit in it.)
		mustError(t, b.api, "GET", many(500), nil, 422, "the limit is 20")
		mustError(t, b.api, "GET", many(21), nil, 422, "the limit is 20")
		b.api.must(t, "GET", many(20), nil, nil, 200)

		nested := func(n int) string {
			return "/api/v1/executions?input.a=" + url.QueryEscape(strings.Repeat("[", n)+strings.Repeat("]", n))
		}
		// 1,200 levels is past what SQLite parses ("malformed JSON").
		mustError(t, b.api, "GET", nested(1200), nil, 422, "input.a", "32")
		mustError(t, b.api, "GET", nested(33), nil, 422, "input.a", "32")
		mustError(t, b.api, "GET", "/api/v1/executions?input.a="+url.QueryEscape(strings.Repeat(`{"a":`, 300)+"1"+strings.Repeat("}", 300)), nil, 422, "32")
		b.api.must(t, "GET", nested(32), nil, nil, 200)
		// Brackets inside a string are not nesting.
		b.api.must(t, "GET", "/api/v1/executions?input.a="+url.QueryEscape(`"`+strings.Repeat("[", 1500)+`"`), nil, nil, 200)

		// A request body nested past the limit is refused with the limit, not stored.
		flow := unique("deep_inputs")
		pushFlow(t, b.api, flow, `function handler(system, inputs) { return {}; }`)
		deep := `{"inputs": {"x": ` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}}`
		mustError(t, b.api, "POST", "/api/v1/flows/"+flow+"/executions", deep, 422, "64")
		mustError(t, b.api, "PUT", "/api/v1/settings/"+unique("deep"), `{"value": `+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`, 422, "64")
	})
}

// TestDeepStoredInputsDoNotBreakLists: a webhook body nested thousands deep (it was
// stored as the execution's inputs.json, after which every input.* filter on SQLite
// failed with "malformed JSON") reaches the flow as text with json null, and a flow
// that sends a connection the deepest inputs a script may send leaves the list
// answering too.
func TestDeepStoredInputsDoNotBreakLists(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
		defer srv.Close()
		flow, hook := unique("deep_hook"), unique("deep_hook")
		pushFlow(t, b.api, flow, `function handler(system, inputs) {
  if (inputs.url) {
    for (let d = 1005; d > 950; d--) {
      let v = 1;
      for (let i = 0; i < d; i++) v = [v];
      try {
        this.connect({connector_type: 'REST', url: inputs.url, method: 'POST', json: {deep: v}});
        return {depth: d};
      } catch (e) {}
    }
    throw new Error('no depth was accepted');
  }
  return {json: inputs.json, length: inputs.body.length};
}`)
		var created struct{ Key string }
		b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow}, &created, 201)
		deep := strings.Repeat("[", 5000) + strings.Repeat("]", 5000)
		st, _, body := hookCall(t, "POST", b.app.URL+"/api/v1/webhooks/"+hook+"/call", map[string]string{"X-Flowd-Key": created.Key, "Content-Type": "application/json"}, []byte(deep))
		if st != 200 || !strings.Contains(string(body), `"json":null`) || !strings.Contains(string(body), `"length":10000`) {
			t.Fatalf("webhook call with a deep body: HTTP %d %.300s", st, body)
		}
		e := runFlow(t, b.api, flow, map[string]any{"url": srv.URL})
		if e.Status != "ENDED_SUCCESS" || len(childrenOf(t, b.api, e.ID)) != 1 {
			t.Fatalf("flow ended %s: %s", e.Status, e.StatusMessage)
		}
		for _, q := range []string{"input.json=null", "input.json.deep=1", "input.url=" + url.QueryEscape(srv.URL), "input.method=POST"} {
			b.api.must(t, "GET", "/api/v1/executions?"+q, nil, nil, 200)
		}
	})
}

// TestDuplicateIDsConflict: creating an API client whose id exists is a 409 that says
// so (it was a 500, UNIQUE constraint failed); saving a new flow, secret, webhook,
// schedule, connector or grant from many requests at once never answers 5xx.
func TestDuplicateIDsConflict(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		id := unique("dup")
		b.api.must(t, "POST", "/api/v1/clients", map[string]string{"id": id, "role": "viewer"}, nil, 201)
		mustError(t, b.api, "POST", "/api/v1/clients", map[string]string{"id": id, "role": "admin"}, 409, id, "exists")

		flow := unique("dupflow")
		pushFlow(t, b.api, flow, `function handler() {}`)
		routes := map[string]any{
			"/api/v1/flows/":      map[string]string{"script": "function handler() {}"},
			"/api/v1/secrets/":    map[string]string{"value": "v"},
			"/api/v1/webhooks/":   map[string]any{"flow": flow},
			"/api/v1/schedules/":  map[string]any{"flow": flow, "cron": "0 0 1 1 *", "enabled": false},
			"/api/v1/connectors/": map[string]any{"connector_type": "REST"},
			"/api/v1/settings/":   map[string]any{"value": 1},
		}
		for prefix, body := range routes {
			name := unique("race")
			var wg sync.WaitGroup
			var bad atomic.Value
			for range 12 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var e apiError
					st, err := b.api.call("PUT", prefix+name, body, &e)
					if err != nil || (st != 200 && st != 201 && st != 409) {
						bad.Store(fmt.Sprintf("PUT %s%s: HTTP %d %v %+v", prefix, name, st, err, e))
					}
				}()
			}
			wg.Wait()
			if msg := bad.Load(); msg != nil {
				t.Error(msg)
			}
		}
	})
}

// TestScriptFileNamesValidated: system.file(name).save_*, system.setting(name).save
// and a REST call's dst refuse, with the API's message, the names the API refuses
// (they made files that were listed but could be neither read nor deleted); a dst
// is refused before any request is sent.
func TestScriptFileNamesValidated(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			fmt.Fprint(w, "body")
		}))
		defer srv.Close()
		good := unique("good") + ".txt"
		bad := []string{"../../x", "weird/../name", "a/b", ".hidden", "..", "x y", strings.Repeat("n", 129)}
		flow := unique("names")
		pushFlow(t, b.api, flow, `function handler(system, inputs) {
  const out = {files: {}, settings: {}, dst: {}};
  for (const n of inputs.names) {
    try { system.file(n).save_text_content('x'); out.files[n] = 'saved'; } catch (e) { out.files[n] = e.message; }
    try { system.file(n).save_base64_content('eA=='); } catch (e) { out.files[n] += ' | ' + e.message; }
    try { system.setting(n).save(1); out.settings[n] = 'saved'; } catch (e) { out.settings[n] = e.message; }
  }
  for (const n of inputs.dsts) {
    try {
      const c = this.connect({connector_type: 'REST', url: inputs.url, dst: n});
      out.dst[n] = c.get('status') + ': ' + c.get('status_message');
    } catch (e) { out.dst[n] = e.message; }
  }
  return out;
}`)
		e := runFlow(t, b.api, flow, map[string]any{"names": append([]string{good}, bad...), "dsts": []string{"../../dst", "weird/../dst"}, "url": srv.URL})
		if e.Status != "ENDED_SUCCESS" {
			t.Fatalf("flow ended %s: %s", e.Status, e.StatusMessage)
		}
		for _, kind := range []string{"files", "settings"} {
			got, _ := e.Outputs[kind].(map[string]any)
			if got[good] != "saved" {
				t.Errorf("%s %q: %v, want saved", kind, good, got[good])
			}
			for _, n := range bad {
				msg := fmt.Sprint(got[n])
				if !strings.Contains(msg, "name") || !strings.Contains(msg, "is not valid: use 1-128 letters") || strings.Contains(msg, "saved") {
					t.Errorf("%s %q: %q, want the API's invalid-name message", kind, n, msg)
				}
			}
		}
		dst, _ := e.Outputs["dst"].(map[string]any)
		for n, msg := range dst {
			if !strings.Contains(fmt.Sprint(msg), "dst") || !strings.Contains(fmt.Sprint(msg), "is not valid") {
				t.Errorf("dst %q: %q, want the invalid-name message", n, msg)
			}
		}
		if len(dst) != 2 || hits.Load() != 0 {
			t.Errorf("dst results %v, %d requests sent; want 2 refusals before any request", dst, hits.Load())
		}
		// Whatever is listed can be read and deleted.
		var files struct {
			Items []struct {
				Name string `json:"name"`
			} `json:"items"`
		}
		b.api.must(t, "GET", "/api/v1/files", nil, &files, 200)
		for _, f := range files.Items {
			if f.Name != good && (strings.ContainsAny(f.Name, "/ ") || strings.HasPrefix(f.Name, ".")) {
				t.Errorf("file %q was stored", f.Name)
			}
		}
		b.api.must(t, "GET", "/api/v1/files/"+good, nil, nil, 200)
		b.api.must(t, "DELETE", "/api/v1/files/"+good, nil, nil, 204)
		b.api.must(t, "DELETE", "/api/v1/settings/"+good, nil, nil, 204)
		// The API refuses the same names with the same message.
		mustError(t, b.api, "PUT", "/api/v1/files/"+url.PathEscape("x y"), map[string]string{"text": "x"}, 400, "is not valid: use 1-128 letters")
	})
}
