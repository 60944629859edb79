package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flowd/flowd/engine"
)

// TestLimits: every limit that keeps an execution inside Temporal's payload and
// history limits ends it with a message that says what to do, never a wedged workflow.
func TestLimits(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		t.Run("large outputs", func(t *testing.T) {
			name := unique("bigout")
			pushFlow(t, b.api, name, "function handler() { return {blob: 'x'.repeat(1500000)}; }")
			e := runFlow(t, b.api, name, nil)
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "over the limit") || !strings.Contains(e.StatusMessage, "system.file") {
				t.Fatalf("ended %s %q", e.Status, e.StatusMessage)
			}
		})
		t.Run("large inputs", func(t *testing.T) {
			name := unique("bigin")
			pushFlow(t, b.api, name, "function handler() {}")
			st, _ := b.api.call("POST", "/api/v1/flows/"+name+"/executions", map[string]any{"inputs": map[string]any{"blob": strings.Repeat("x", 1200000)}}, nil)
			if st != 400 {
				t.Fatalf("HTTP %d, want 400", st)
			}
		})
		t.Run("large child inputs", func(t *testing.T) {
			name := unique("bigchild")
			pushFlow(t, b.api, name, "function handler() {\n  this.connect({connector_type: 'REST', url: 'http://127.0.0.1:1', text: 'x'.repeat(1200000)});\n}")
			e := runFlow(t, b.api, name, nil)
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "too large") || !strings.Contains(e.StatusMessage, ":2:") {
				t.Fatalf("ended %s %q", e.Status, e.StatusMessage)
			}
		})
		t.Run("many log lines", func(t *testing.T) {
			name := unique("biglogs")
			pushFlow(t, b.api, name, "function handler() { const s = 'y'.repeat(15000); for (let i = 0; i < 400; i++) this.log(i, s); }")
			e := runFlow(t, b.api, name, nil)
			if e.Status != "ENDED_SUCCESS" {
				t.Fatalf("6 MB of log lines: ended %s %q", e.Status, e.StatusMessage)
			}
			var page struct {
				Items []logLine `json:"items"`
			}
			b.api.must(t, "GET", "/api/v1/executions/"+e.ID+"/logs?after=399", nil, &page, 200)
			if len(page.Items) != 1 || !strings.HasPrefix(page.Items[0].Message, "399 ") {
				t.Fatalf("the last log line is missing: %d lines after 399", len(page.Items))
			}
		})
		t.Run("maximum runtime", func(t *testing.T) {
			name := unique("overtime")
			b.api.must(t, "PUT", "/api/v1/flows/"+name, map[string]any{"max_runtime": 2,
				"script": "function handler() {\n  try { this.sleep(600); } finally { this.log('cleaned up'); }\n}"}, nil, 200, 201)
			var f struct {
				MaxRuntime int `json:"max_runtime"`
			}
			b.api.must(t, "GET", "/api/v1/flows/"+name, nil, &f, 200)
			if f.MaxRuntime != 2 {
				t.Fatalf("max_runtime %d", f.MaxRuntime)
			}
			e := runFlow(t, b.api, name, nil)
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "maximum runtime of 2s") {
				t.Fatalf("ended %s %q", e.Status, e.StatusMessage)
			}
			if lines := logsOf(t, b.api, e.ID); len(lines) != 1 || lines[0].Message != "cleaned up" {
				t.Fatalf("the finally block did not run: %+v", lines)
			}
			b.api.must(t, "PUT", "/api/v1/flows/"+name, map[string]any{"max_runtime": -1, "script": "function handler() {}"}, nil, 400)
		})
		t.Run("history length", func(t *testing.T) {
			// An engine with a low history limit, on the same worker and store.
			eng := &engine.Engine{Store: b.app.Store, Temporal: b.app.Temporal, TaskQueue: b.app.Engine.TaskQueue, Log: b.app.Engine.Log, MaxHistory: 60}
			name := unique("longhistory")
			pushFlow(t, b.api, name, "function handler(system, inputs) {\n  for (let i = 0; i < 1000; i++) {\n    this.sleep(0.001);\n    this.flow('"+name+"_noop', {});\n  }\n}")
			pushFlow(t, b.api, name+"_noop", "function handler() {}")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			exec, err := eng.StartFlow(ctx, name, nil, engine.TriggerAPI, "")
			if err != nil {
				t.Fatal(err)
			}
			e := waitEnded(t, b.api, exec.ID, 60*time.Second)
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "at flowd's limit of 60") || !strings.Contains(e.StatusMessage, ":3:") {
				t.Fatalf("ended %s %q", e.Status, e.StatusMessage)
			}
		})
	})
}
