package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/mccutchen/go-httpbin/v2/httpbin"

	"github.com/flowd/flowd/examples"
)

// TestExamples runs every flow in examples/ as it is, against flowd's own demo
// endpoints and against a real httpbin server.
func TestExamples(t *testing.T) {
	bin := httptest.NewServer(httpbin.New())
	defer bin.Close()
	jokes := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"type":"success","value":{"id":7,"joke":"Chuck Norris can unit test an entire application with a single assert."}}`))
	}))
	defer jokes.Close()
	binHost, binPort, _ := strings.Cut(strings.TrimPrefix(bin.URL, "http://"), ":")

	// Every example is run as it is by one of the tests: this list says which, and
	// fails when an example is added without one.
	testedBy := map[string]string{
		"joke": "TestExamples", "url_parts": "TestExamples", "greet": "TestChildFlows", "fan_out": "TestChildFlows",
		"approval": "TestMessages", "incremental_feed": "TestSettingsAndFiles", "oauth_pages": "TestRESTExamples",
		"netsuite_jwt": "TestRESTExamples", "custom_auth": "TestRESTExamples", "multipart_upload": "TestRESTExamples",
	}
	for _, ex := range examples.All() {
		if testedBy[ex.Name] == "" {
			t.Errorf("examples/%s.js is run by no test: add it to a test and to this list", ex.Name)
		}
		delete(testedBy, ex.Name)
	}
	for name := range testedBy {
		t.Errorf("examples/%s.js is listed but does not exist", name)
	}

	each(t, func(t *testing.T, b *backend) {
		// The first start of the development setup saved the examples as flows, with
		// their inputs_schema.
		var seeded struct {
			InputsSchema json.RawMessage `json:"inputs_schema"`
		}
		b.api.must(t, "GET", "/api/v1/flows/custom_auth", nil, &seeded, 200)
		// (SQLite starts empty; a PostgreSQL database may have been seeded by an older flowd.)
		if len(seeded.InputsSchema) == 0 && b.name == "sqlite" {
			t.Errorf("the example custom_auth was saved without its inputs_schema")
		}
		for _, file := range []string{"joke", "url_parts"} {
			src, err := os.ReadFile("../examples/" + file + ".js")
			if err != nil {
				t.Fatal(err)
			}
			pushFlow(t, b.api, file, string(src))
		}

		t.Run("joke/demo endpoint", func(t *testing.T) {
			e := runFlow(t, b.api, "joke", map[string]any{"url": b.app.URL + "/demo/jokes/random"})
			if e.Status != "ENDED_SUCCESS" || e.StatusMessage == "" {
				t.Fatalf("joke ended %s %q", e.Status, e.StatusMessage)
			}
		})
		t.Run("joke/local server", func(t *testing.T) {
			e := runFlow(t, b.api, "joke", map[string]any{"url": jokes.URL})
			if e.Status != "ENDED_SUCCESS" || !strings.Contains(e.StatusMessage, "single assert") {
				t.Fatalf("joke ended %s %q", e.Status, e.StatusMessage)
			}
			kids := childrenOf(t, b.api, e.ID)
			if len(kids) != 1 {
				t.Fatalf("want one CONNECTION child, got %+v", kids)
			}
			k := kids[0]
			if k.Type != "CONNECTION" || k.Name != "REST" || k.Status != "ENDED_SUCCESS" || k.ParentID == nil || *k.ParentID != e.ID || k.RootID != e.ID {
				t.Fatalf("child execution: %+v", k)
			}
			if k.Outputs["status_code"] != float64(200) {
				t.Fatalf("child outputs: %v", k.Outputs)
			}
			if lines := logsOf(t, b.api, e.ID); len(lines) != 1 || !strings.HasPrefix(lines[0].Message, "got joke") {
				t.Fatalf("logs: %+v", lines)
			}
		})
		t.Run("url_parts/httpbin", func(t *testing.T) {
			e := runFlow(t, b.api, "url_parts", map[string]any{"hostname": binHost, "port": binPort, "base_path": "anything"})
			if e.Status != "ENDED_SUCCESS" || e.StatusMessage != "all done" {
				t.Fatalf("url_parts ended %s %q", e.Status, e.StatusMessage)
			}
			want := bin.URL + "/anything/some/path?query=parameter"
			if e.Outputs["url"] != want {
				t.Fatalf("url = %v, want %s", e.Outputs["url"], want)
			}
		})
		t.Run("url_parts/demo endpoint", func(t *testing.T) {
			host, port, _ := strings.Cut(strings.TrimPrefix(b.app.URL, "http://"), ":")
			e := runFlow(t, b.api, "url_parts", map[string]any{"hostname": host, "port": port})
			if e.Status != "ENDED_SUCCESS" || !strings.HasSuffix(e.Outputs["url"].(string), "/demo/anything/some/path?query=parameter") {
				t.Fatalf("url_parts ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
			}
		})
		t.Run("inputs_schema defaults", func(t *testing.T) { examplesWithDefaults(t, b) })
	})
}

// TestRESTInputs covers the connector inputs of the spine through a flow: method,
// params, headers, json and text bodies and expected_status_code.
func TestRESTInputs(t *testing.T) {
	bin := httptest.NewServer(httpbin.New())
	defer bin.Close()
	each(t, func(t *testing.T, b *backend) {
		name := unique("rest_inputs")
		pushFlow(t, b.api, name, `function handler(system, inputs) {
  const post = this.connect({connector_type: 'REST', url: inputs.base + '/post', method: 'POST',
    params: {a: '1'}, headers: {'X-Test': 'yes'}, json: {n: 42}});
  const put = this.connect({connector_type: 'REST', url: inputs.base + '/put', method: 'PUT', text: 'plain words'});
  let status = null;
  try {
    this.connect({connector_type: 'REST', url: inputs.base + '/status/418'});
  } catch (e) {
    status = e.execution.get('status');
  }
  const teapot = this.connect({connector_type: 'REST', url: inputs.base + '/status/418', expected_status_code: 418});
  const p = post.get('output_value').json;
  return {arg: p.args.a[0], header: p.headers['X-Test'][0], n: p.json.n, text: put.get('output_value').json.data,
          failed: status, teapot: teapot.get('output_value').status_code};
}`)
		e := runFlow(t, b.api, name, map[string]any{"base": bin.URL})
		if e.Status != "ENDED_SUCCESS" {
			t.Fatalf("ended %s: %s", e.Status, e.StatusMessage)
		}
		got, _ := json.Marshal(e.Outputs)
		want := `{"arg":"1","failed":"ENDED_ERROR","header":"yes","n":42,"teapot":418,"text":"plain words"}`
		if string(got) != want {
			t.Fatalf("outputs %s, want %s", got, want)
		}
		if kids := childrenOf(t, b.api, e.ID); len(kids) != 4 {
			t.Fatalf("want 4 CONNECTION children, got %d", len(kids))
		}
	})
}

// TestScriptErrors: a broken script is refused at save with its line and column; an
// uncaught exception ends the execution ENDED_ERROR with the user's stack.
func TestScriptErrors(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		cases := map[string]struct {
			script string
			line   int
			substr string
		}{
			"syntax":     {"function handler(system, inputs) {\n  let x = ;\n}\n", 2, "Unexpected token"},
			"no handler": {"function main() {}\n", 0, "handler"},
			"nested":     {"function handler() { return " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }", 0, "nest"},
			"oversized":  {"function handler() {}\n//" + strings.Repeat("x", 600<<10), 0, "limit"},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				var body struct {
					Error struct {
						Code    string `json:"code"`
						Message string `json:"message"`
						Line    int    `json:"line"`
						Column  int    `json:"column"`
					} `json:"error"`
				}
				st, err := b.api.call("PUT", "/api/v1/flows/"+unique("bad"), map[string]string{"script": tc.script}, &body)
				if err != nil {
					t.Fatal(err)
				}
				if st != 422 || body.Error.Message == "" {
					t.Fatalf("HTTP %d %+v, want 422 with a message", st, body)
				}
				if tc.line > 0 && (body.Error.Line != tc.line || body.Error.Column == 0) {
					t.Fatalf("line %d column %d, want line %d: %s", body.Error.Line, body.Error.Column, tc.line, body.Error.Message)
				}
				if !strings.Contains(body.Error.Message, tc.substr) {
					t.Fatalf("message %q does not mention %q", body.Error.Message, tc.substr)
				}
			})
		}

		t.Run("uncaught exception", func(t *testing.T) {
			name := unique("throws")
			pushFlow(t, b.api, name, "function handler(system, inputs) {\n  this.log('before');\n  const x = inputs.missing.field;\n}\n")
			e := runFlow(t, b.api, name, nil)
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "TypeError") || !strings.Contains(e.StatusMessage, name+".js:3:") {
				t.Fatalf("ended %s %q, want ENDED_ERROR with a TypeError at %s.js:3", e.Status, e.StatusMessage, name)
			}
			if lines := logsOf(t, b.api, e.ID); len(lines) != 1 || lines[0].Message != "before" {
				t.Fatalf("the log line before the error is lost: %+v", lines)
			}
		})
		t.Run("this.error and success", func(t *testing.T) {
			name := unique("ends")
			pushFlow(t, b.api, name, `function handler(system, inputs) {
  try { if (inputs.fail) this.error('failed on purpose'); this.success('fine'); } catch (e) { return {caught: true}; }
}`)
			if e := runFlow(t, b.api, name, map[string]any{"fail": true}); e.Status != "ENDED_ERROR" || e.StatusMessage != "failed on purpose" {
				t.Fatalf("this.error: %s %q", e.Status, e.StatusMessage)
			}
			if e := runFlow(t, b.api, name, nil); e.Status != "ENDED_SUCCESS" || e.StatusMessage != "fine" {
				t.Fatalf("this.success: %s %q", e.Status, e.StatusMessage)
			}
		})
		t.Run("return value", func(t *testing.T) {
			name := unique("returns")
			pushFlow(t, b.api, name, `function handler(system, inputs) { this.set_output('early', 1); return inputs.obj ? {a: 1} : 5; }`)
			if e := runFlow(t, b.api, name, map[string]any{"obj": true}); e.Outputs["a"] != float64(1) || e.Outputs["early"] != float64(1) {
				t.Fatalf("object return: %v", e.Outputs)
			}
			if e := runFlow(t, b.api, name, nil); e.Outputs["result"] != float64(5) {
				t.Fatalf("scalar return: %v", e.Outputs)
			}
		})
	})
}

// TestContainment: a runaway script is stopped by the CPU budget and the worker keeps
// serving; deep recursion is bounded; scripts see no host objects.
func TestContainment(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		loop, ok := unique("loop"), unique("ok")
		pushFlow(t, b.api, loop, "function handler() {\n  for (;;) {}\n}\n")
		pushFlow(t, b.api, ok, "function handler() { return {fine: true}; }")
		e := runFlow(t, b.api, loop, nil)
		if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "without waiting") {
			t.Fatalf("runaway script ended %s %q, want ENDED_ERROR about the CPU budget", e.Status, e.StatusMessage)
		}
		if e := runFlow(t, b.api, ok, nil); e.Status != "ENDED_SUCCESS" || e.Outputs["fine"] != true {
			t.Fatalf("the next flow after a runaway one: %s %q", e.Status, e.StatusMessage)
		}

		rec := unique("recurse")
		pushFlow(t, b.api, rec, "function f(n) { return f(n + 1) + 1; }\nfunction handler() { return f(0); }")
		if e := runFlow(t, b.api, rec, nil); e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "call stack") {
			t.Fatalf("endless recursion ended %s %q", e.Status, e.StatusMessage)
		}

		host := unique("host")
		pushFlow(t, b.api, host, `function handler() {
  return {require: typeof require, process: typeof process, setTimeout: typeof setTimeout, fetch: typeof fetch};
}`)
		e = runFlow(t, b.api, host, nil)
		for k, v := range e.Outputs {
			if v != "undefined" {
				t.Errorf("scripts can see %s (%v)", k, v)
			}
		}
	})
}

// TestRevisions: an execution records the revision it ran; editing a flow creates a
// new revision and later runs use it.
func TestRevisions(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name := unique("rev")
		pushFlow(t, b.api, name, "function handler() { return {v: 1}; }")
		pushFlow(t, b.api, name, "function handler() { return {v: 2}; }")
		e := runFlow(t, b.api, name, nil)
		if e.FlowRevision != 2 || e.Outputs["v"] != float64(2) {
			t.Fatalf("ran revision %d with outputs %v", e.FlowRevision, e.Outputs)
		}
		var revs struct {
			Items []struct {
				Revision int    `json:"revision"`
				Script   string `json:"script"`
			} `json:"items"`
		}
		b.api.must(t, "GET", "/api/v1/flows/"+name+"/revisions", nil, &revs, 200)
		if len(revs.Items) != 2 {
			t.Fatalf("revisions: %+v", revs.Items)
		}
	})
}

// TestExecutionsList: filters and the cursor.
func TestExecutionsList(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name := unique("list")
		pushFlow(t, b.api, name, "function handler(s, inputs) { return {n: inputs.n}; }")
		for i := range 3 {
			runFlow(t, b.api, name, map[string]any{"n": i})
		}
		var seen []float64
		cursor := ""
		for range 5 {
			var page struct {
				Items      []execution `json:"items"`
				NextCursor string      `json:"next_cursor"`
			}
			b.api.must(t, "GET", "/api/v1/executions?limit=2&flow="+name+"&cursor="+cursor, nil, &page, 200)
			for _, e := range page.Items {
				seen = append(seen, e.Outputs["n"].(float64))
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 3 || seen[0] != 2 || seen[2] != 0 {
			t.Fatalf("paged newest first: %v", seen)
		}
		b.api.must(t, "GET", "/api/v1/executions?status=BOGUS", nil, nil, 400)
		b.api.must(t, "GET", "/api/v1/executions/00000000-0000-0000-0000-000000000000", nil, nil, 404)
		b.api.must(t, "POST", "/api/v1/flows/"+unique("missing")+"/executions", map[string]any{}, nil, 404)
		b.api.must(t, "POST", "/api/v1/flows/"+name+"/executions", `{"inputs": [1,2]}`, nil, 400)
	})
}
