package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
)

// TestOperations: /metrics and the OpenAPI document are served without a token, and
// the metrics count what just ran.
func TestOperations(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		flow := unique("measured")
		pushFlow(t, b.api, flow, "function handler(system, inputs) { this.connect({connector_type: 'REST', url: inputs.url}); return {}; }")
		if e := runFlow(t, b.api, flow, map[string]any{"url": b.app.URL + "/demo/jokes/random"}); e.Status != "ENDED_SUCCESS" {
			t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
		}
		anon := &client{base: b.app.URL}
		var doc struct {
			OpenAPI string         `json:"openapi"`
			Paths   map[string]any `json:"paths"`
		}
		anon.must(t, "GET", "/api/v1/openapi.json", nil, &doc, 200)
		if doc.Paths["/api/v1/webhooks/{name}/call"] == nil || doc.Paths["/api/v1/schedules/{name}"] == nil {
			t.Fatalf("OpenAPI %s paths: %v", doc.OpenAPI, doc.Paths)
		}

		resp, err := http.Get(b.app.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET /metrics: HTTP %d %s", resp.StatusCode, body)
		}
		for _, series := range []string{
			`flowd_executions_started_total`,
			`flowd_executions_ended_total{status="ENDED_SUCCESS"}`,
			`flowd_connector_call_duration_seconds_count{connector_type="REST",status="success"}`,
			`flowd_http_requests_total{method="POST",route="/api/v1/flows/:name/executions",status="200"}`,
		} {
			m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(body)
			if m == nil {
				t.Errorf("/metrics has no %s", series)
				continue
			}
			if v, _ := strconv.ParseFloat(string(m[1]), 64); v < 1 {
				t.Errorf("%s = %s, want >= 1", series, m[1])
			}
		}
		if !regexp.MustCompile(`(?m)^flowd_task_queue_backlog \d+`).Match(body) {
			t.Errorf("/metrics has no flowd_task_queue_backlog")
		}
	})
}
