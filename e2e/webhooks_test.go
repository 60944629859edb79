package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// hookCall sends a webhook call without a token and returns the status, headers and body.
func hookCall(t *testing.T, method, url string, header map[string]string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, data
}

func TestWebhooks(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		flow, hook := unique("hooked"), unique("hook")
		pushFlow(t, b.api, flow, `function handler(system, inputs) {
  const mode = inputs.query.mode;
  if (mode === 'reply') {
    return {status_code: 201, headers: {'X-Echo': 'yes', 'Content-Type': 'text/csv'}, body: 'a,b\n1,2\n'};
  }
  if (mode === 'slow') { this.sleep(3); }
  if (mode === 'fail') { throw new Error('internal detail 1234'); }
  return {method: inputs.method, path: inputs.path, test: inputs.headers['x-test'] || null, query: inputs.query,
          raw: inputs.body, json: inputs.json, encoding: inputs.body_encoding || null,
          leaked: Object.keys(inputs.headers).filter(h => h === 'x-flowd-key')};
}`)
		var created struct {
			Name, Flow, URL, Key string
			Enabled              bool
		}
		b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow}, &created, 201)
		if len(created.Key) < 32 || !created.Enabled || created.URL != "/api/v1/webhooks/"+hook+"/call" {
			t.Fatalf("created webhook: %+v", created)
		}
		var got map[string]any
		b.api.must(t, "GET", "/api/v1/webhooks/"+hook, nil, &got, 200)
		if _, shown := got["key"]; shown || got["flow"] != flow {
			t.Fatalf("GET webhook shows %v; want the flow and never the key", got)
		}
		url := b.app.URL + created.URL
		key := map[string]string{"X-Flowd-Key": created.Key}

		t.Run("JSON body with header key", func(t *testing.T) {
			payload := `{"n": 1, "s": "${process.exit()} {{7*7}} <script>"}`
			st, h, body := hookCall(t, "POST", url+"?x=1", map[string]string{"X-Flowd-Key": created.Key, "X-Test": "yes", "Content-Type": "application/json"}, []byte(payload))
			if st != 200 {
				t.Fatalf("HTTP %d %s", st, body)
			}
			var out map[string]any
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatalf("reply %s: %v", body, err)
			}
			js, _ := out["json"].(map[string]any)
			if out["method"] != "POST" || out["path"] != created.URL || out["test"] != "yes" || out["raw"] != payload ||
				js["s"] != "${process.exit()} {{7*7}} <script>" || js["n"] != float64(1) || len(out["leaked"].([]any)) != 0 {
				t.Fatalf("reply: %s", body)
			}
			var e execution
			b.api.must(t, "GET", "/api/v1/executions/"+h.Get("X-Flowd-Execution-Id"), nil, &e, 200)
			if e.Trigger != "webhook" || e.Name != flow || e.Status != "ENDED_SUCCESS" {
				t.Fatalf("execution: %+v", e)
			}
			if raw, _ := json.Marshal(e.Inputs); strings.Contains(string(raw), created.Key) {
				t.Fatalf("the key is stored in the execution's inputs: %s", raw)
			}
		})
		t.Run("query key and repeated query", func(t *testing.T) {
			st, _, body := hookCall(t, "GET", url+"?key="+created.Key+"&a=1&a=2&b=x", nil, nil)
			var out struct {
				Method string         `json:"method"`
				Query  map[string]any `json:"query"`
			}
			if err := json.Unmarshal(body, &out); err != nil || st != 200 {
				t.Fatalf("HTTP %d %s %v", st, body, err)
			}
			if out.Method != "GET" || out.Query["b"] != "x" || len(out.Query["a"].([]any)) != 2 || out.Query["key"] != nil {
				t.Fatalf("reply: %s", body)
			}
		})
		t.Run("binary body", func(t *testing.T) {
			st, _, body := hookCall(t, "PUT", url, key, []byte{0xff, 0xfe, 0x00})
			var out map[string]any
			_ = json.Unmarshal(body, &out)
			if st != 200 || out["encoding"] != "base64" || out["raw"] != "//4A" {
				t.Fatalf("HTTP %d %s", st, body)
			}
		})
		t.Run("reply set by the flow", func(t *testing.T) {
			st, h, body := hookCall(t, "POST", url+"?mode=reply", key, nil)
			if st != 201 || h.Get("X-Echo") != "yes" || h.Get("Content-Type") != "text/csv" || string(body) != "a,b\n1,2\n" {
				t.Fatalf("HTTP %d %v %q", st, h, body)
			}
		})
		t.Run("failed flow", func(t *testing.T) {
			st, _, body := hookCall(t, "POST", url+"?mode=fail", key, nil)
			if st != 500 || !strings.Contains(string(body), "flow_failed") || strings.Contains(string(body), "1234") {
				t.Fatalf("HTTP %d %s; want 500 flow_failed without the error's details", st, body)
			}
		})
		t.Run("async", func(t *testing.T) {
			st, h, body := hookCall(t, "POST", url+"?async=1&mode=slow", key, nil)
			var out struct {
				ExecutionID string `json:"execution_id"`
			}
			if err := json.Unmarshal(body, &out); err != nil || st != 202 || out.ExecutionID == "" || h.Get("Location") != "/api/v1/executions/"+out.ExecutionID {
				t.Fatalf("HTTP %d %v %s", st, h, body)
			}
			if e := waitEnded(t, b.api, out.ExecutionID, 60*time.Second); e.Status != "ENDED_SUCCESS" {
				t.Fatalf("async run ended %s: %s", e.Status, e.StatusMessage)
			}
		})
		t.Run("wait passes", func(t *testing.T) {
			start := time.Now()
			st, _, body := hookCall(t, "POST", url+"?wait=0.5&mode=slow", key, nil)
			if st != 202 || time.Since(start) > 2500*time.Millisecond || !strings.Contains(string(body), "execution_id") {
				t.Fatalf("HTTP %d after %v: %s; want 202 after about 0.5 s", st, time.Since(start), body)
			}
		})
		t.Run("too large", func(t *testing.T) {
			if st, _, body := hookCall(t, "POST", url, key, bytes.Repeat([]byte("x"), 300<<10)); st != 413 {
				t.Fatalf("HTTP %d %s, want 413", st, body)
			}
		})
		t.Run("same 404 for wrong key, no key, disabled and unknown", func(t *testing.T) {
			_, _, wrong := hookCall(t, "POST", url, map[string]string{"X-Flowd-Key": "wrong-key-0123456789"}, nil)
			_, _, none := hookCall(t, "POST", url, nil, nil)
			b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow, "enabled": false}, nil, 200)
			st, _, disabled := hookCall(t, "POST", url, key, nil)
			if st != 404 || !bytes.Equal(wrong, none) || !bytes.Equal(wrong, disabled) {
				t.Fatalf("HTTP %d; bodies differ:\nwrong key %s\nno key    %s\ndisabled  %s", st, wrong, none, disabled)
			}
			other := unique("nohook")
			st, _, unknown := hookCall(t, "POST", b.app.URL+"/api/v1/webhooks/"+other+"/call", key, nil)
			if st != 404 || !bytes.Equal(bytes.ReplaceAll(unknown, []byte(other), []byte(hook)), wrong) {
				t.Fatalf("unknown webhook: HTTP %d %s, want the same 404 as %s", st, unknown, wrong)
			}
			// Re-enabling keeps the key.
			b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow, "enabled": true}, nil, 200)
			if st, _, body := hookCall(t, "POST", url, key, nil); st != 200 {
				t.Fatalf("re-enabled: HTTP %d %s", st, body)
			}
		})
		t.Run("chosen key", func(t *testing.T) {
			b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow, "key": "short"}, nil, 400)
			var v map[string]any
			b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow, "key": "my-own-key-0123456789"}, &v, 200)
			if _, shown := v["key"]; shown {
				t.Fatalf("a chosen key is echoed back: %v", v)
			}
			if st, _, _ := hookCall(t, "POST", url, key, nil); st != 404 {
				t.Fatalf("the old key still works: HTTP %d", st)
			}
			if st, _, body := hookCall(t, "POST", url+"?key=my-own-key-0123456789", nil, nil); st != 200 {
				t.Fatalf("the new key: HTTP %d %s", st, body)
			}
		})
		t.Run("validation and roles", func(t *testing.T) {
			b.api.must(t, "PUT", "/api/v1/webhooks/"+unique("h"), map[string]any{"flow": unique("missing")}, nil, 422)
			b.api.must(t, "PUT", "/api/v1/webhooks/"+unique("h"), map[string]any{}, nil, 400)
			runner := newRoleClient(t, b, "runner")
			if st, _ := runner.call("PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow}, nil); st != 403 {
				t.Errorf("runner PUT webhook: HTTP %d, want 403", st)
			}
			if st, _ := runner.call("GET", "/api/v1/webhooks", nil, nil); st != 403 {
				t.Errorf("runner GET webhooks: HTTP %d, want 403", st)
			}
			var list struct{ Items []map[string]any }
			b.api.must(t, "GET", "/api/v1/webhooks", nil, &list, 200)
			found := false
			for _, w := range list.Items {
				found = found || w["name"] == hook
			}
			if !found {
				t.Fatalf("webhook %s not in the list", hook)
			}
		})
		b.api.must(t, "DELETE", "/api/v1/webhooks/"+hook, nil, nil, 204)
		if st, _, _ := hookCall(t, "POST", url, key, nil); st != 404 {
			t.Fatalf("deleted webhook: HTTP %d, want 404", st)
		}
		b.api.must(t, "DELETE", "/api/v1/webhooks/"+hook, nil, nil, 404)
	})
}

// newRoleClient creates an API client with role and returns it logged in.
func newRoleClient(t *testing.T, b *backend, role string) *client {
	t.Helper()
	var created struct{ ID, Secret string }
	b.api.must(t, "POST", "/api/v1/clients", map[string]string{"name": unique(role), "role": role}, &created, 201)
	c := &client{base: b.app.URL}
	if err := c.login(created.ID, created.Secret); err != nil {
		t.Fatal(err)
	}
	return c
}
