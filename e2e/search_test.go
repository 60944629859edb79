package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestExecutionSearch: input.<path>=<value> filters by values in the inputs.
func TestExecutionSearch(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name := unique("search")
		pushFlow(t, b.api, name, "function handler(system, inputs) { return {tag: inputs.tag}; }")
		runs := []map[string]any{
			{"tag": "a", "customer": 42, "tier": "gold", "flags": map[string]any{"vip": true}},
			{"tag": "b", "customer": 42, "tier": "silver", "flags": map[string]any{"vip": false}},
			{"tag": "c", "customer": 7, "tier": "gold"},
		}
		for _, in := range runs {
			runFlow(t, b.api, name, in)
		}
		tags := func(query string) string {
			var page struct {
				Items []execution `json:"items"`
			}
			b.api.must(t, "GET", "/api/v1/executions?flow="+name+"&"+query, nil, &page, 200)
			var out []string
			for _, e := range page.Items {
				out = append(out, e.Outputs["tag"].(string))
			}
			sort.Strings(out)
			return strings.Join(out, ",")
		}
		for query, want := range map[string]string{
			"input.customer=42":                    "a,b",
			"input.tier=gold":                      "a,c",
			"input.customer=42&input.tier=gold":    "a",
			"input.flags.vip=true":                 "a",
			"input.flags.vip=false":                "b",
			"input.customer=8":                     "",
			"input.tier=%22gold%22":                "a,c",
			"status=ENDED_SUCCESS&input.tier=gold": "a,c",
		} {
			if got := tags(query); got != want {
				t.Errorf("%s: got %q, want %q", query, got, want)
			}
		}
		b.api.must(t, "GET", "/api/v1/executions?input.a%27b=1", nil, nil, 400)
	})
}

// TestRetention: the retention job deletes ended execution trees with their log lines
// and keeps running ones.
func TestRetention(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		old, sleeping := unique("old"), unique("sleeping")
		pushFlow(t, b.api, old, "function handler(system, inputs) { this.log('bye'); this.connect({connector_type: 'REST', url: inputs.url}); }")
		pushFlow(t, b.api, sleeping, "function handler() { this.sleep(600); }")
		ended := runFlow(t, b.api, old, map[string]any{"url": b.app.URL + "/demo/jokes/random"})
		kids := childrenOf(t, b.api, ended.ID)
		var running execution
		b.api.must(t, "POST", "/api/v1/flows/"+sleeping+"/executions", map[string]any{}, &running, 201)
		waitStatus(t, b.api, running.ID, "WAITING")

		n, err := b.app.Store.DeleteEndedBefore(context.Background(), time.Now().Add(time.Second), 100000)
		if err != nil || n == 0 {
			t.Fatalf("deleted %d: %v", n, err)
		}
		b.api.must(t, "GET", "/api/v1/executions/"+ended.ID, nil, nil, 404)
		b.api.must(t, "GET", "/api/v1/executions/"+kids[0].ID, nil, nil, 404)
		if lines, err := b.app.Store.Logs(context.Background(), ended.ID, 0, 10); err != nil || len(lines) != 0 {
			t.Fatalf("log lines left: %d %v", len(lines), err)
		}
		b.api.must(t, "GET", "/api/v1/executions/"+running.ID, nil, nil, 200)
		b.api.must(t, "POST", "/api/v1/executions/"+running.ID+"/cancel", nil, nil, 202)
	})
}

// TestWebhookCredentialsNotStored: a caller's Authorization and Cookie headers reach
// the flow as "[redacted]", so they are not stored with the execution.
func TestWebhookCredentialsNotStored(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		flow, hook := unique("hookflow"), unique("hook")
		pushFlow(t, b.api, flow, "function handler(system, inputs) { return {auth: inputs.headers.authorization, cookie: inputs.headers.cookie}; }")
		var created struct {
			Key string `json:"key"`
		}
		b.api.must(t, "PUT", "/api/v1/webhooks/"+hook, map[string]any{"flow": flow}, &created, 201)
		req, _ := http.NewRequest("POST", b.app.URL+"/api/v1/webhooks/"+hook+"/call", strings.NewReader("{}"))
		req.Header.Set("X-Flowd-Key", created.Key)
		req.Header.Set("Authorization", "Bearer caller-token-123")
		req.Header.Set("Cookie", "session=abc")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var page struct {
			Items []execution `json:"items"`
		}
		b.api.must(t, "GET", "/api/v1/executions?flow="+flow, nil, &page, 200)
		if len(page.Items) != 1 {
			t.Fatalf("executions: %d", len(page.Items))
		}
		e := page.Items[0]
		if e.Outputs["auth"] != "[redacted]" || e.Outputs["cookie"] != "[redacted]" || strings.Contains(toJSON(e.Inputs), "caller-token-123") {
			t.Fatalf("stored credentials: %v / %v", e.Outputs, e.Inputs)
		}
	})
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestWebhookWrongKeysLimited: after 10 calls with a wrong key for one webhook in a
// minute, an address gets 429 for it.
func TestWebhookWrongKeysLimited(t *testing.T) {
	b := backends[0]
	codes := map[int]int{}
	hook := unique("nohook")
	for range 12 {
		req, _ := http.NewRequest("POST", b.app.URL+"/api/v1/webhooks/"+hook+"/call?key=guess", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes[resp.StatusCode]++
	}
	if codes[404] != 10 || codes[429] != 2 {
		t.Fatalf("status codes of 12 wrong calls: %v, want 10 x 404 then 429", codes)
	}
}
