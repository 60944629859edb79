package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func pushExample(t *testing.T, c *client, name string) {
	t.Helper()
	src, err := os.ReadFile("../examples/" + name + ".js")
	if err != nil {
		t.Fatal(err)
	}
	pushFlow(t, c, name, string(src))
}

// waitStatus waits until an execution has the status (or fails the test, also when
// it ends with another).
func waitStatus(t *testing.T, c *client, id, status string) execution {
	t.Helper()
	var e execution
	eventually(t, 30*time.Second, "execution "+id+" is "+status, func() (bool, string) {
		c.must(t, "GET", "/api/v1/executions/"+id, nil, &e, 200)
		if e.Status != status && strings.HasPrefix(e.Status, "ENDED_") {
			t.Fatalf("execution %s ended %s (%s), want %s", id, e.Status, e.StatusMessage, status)
		}
		return e.Status == status, e.Status
	})
	return e
}

// waitChildren waits until an execution's children satisfy ok and returns them.
func waitChildren(t *testing.T, c *client, id, what string, ok func([]execution) bool) []execution {
	t.Helper()
	var kids []execution
	eventually(t, 30*time.Second, what, func() (bool, string) {
		kids = childrenOf(t, c, id)
		return ok(kids), fmt.Sprintf("%+v", kids)
	})
	return kids
}

// TestChildFlows: this.flow runs a child FLOW execution (blocking, or fanned out with
// wait: false and wait_for); a failed child is a catchable ExecutionError; uncaught it
// fails the parent naming the child; a missing flow is an error at the script's line.
func TestChildFlows(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		pushExample(t, b.api, "greet")
		pushExample(t, b.api, "fan_out")
		e := runFlow(t, b.api, "fan_out", map[string]any{"names": []string{"Ada", "Grace", "Linus", "Barbara"}})
		if e.Status != "ENDED_SUCCESS" || fmt.Sprint(e.Outputs["greetings"]) != "[Hello, Ada! Hello, Grace! Hello, Linus! Hello, Barbara!]" {
			t.Fatalf("fan_out ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
		}
		kids := childrenOf(t, b.api, e.ID)
		if len(kids) != 4 {
			t.Fatalf("want 4 FLOW children, got %d", len(kids))
		}
		for _, k := range kids {
			if k.Type != "FLOW" || k.Name != "greet" || k.Status != "ENDED_SUCCESS" || k.RootID != e.ID || *k.ParentID != e.ID || k.Trigger != "parent" || k.FlowRevision == 0 {
				t.Fatalf("child: %+v", k)
			}
		}

		parent := unique("parent")
		pushFlow(t, b.api, parent, `function handler(system, inputs) {
  if (inputs.mode === 'missing') {
    this.flow('no_such_flow_here', {});
  }
  if (inputs.mode === 'uncaught') {
    this.flow('greet', {});
  }
  try {
    this.flow('greet', {});
  } catch (e) {
    return {name: e.name, child_status: e.execution.get('status'), message: e.message};
  }
}`)
		e = runFlow(t, b.api, parent, nil)
		if e.Status != "ENDED_SUCCESS" || e.Outputs["name"] != "ExecutionError" || e.Outputs["child_status"] != "ENDED_ERROR" || !strings.Contains(fmt.Sprint(e.Outputs["message"]), "greet needs") {
			t.Fatalf("caught child error: %s %q %v", e.Status, e.StatusMessage, e.Outputs)
		}
		e = runFlow(t, b.api, parent, map[string]any{"mode": "uncaught"})
		if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "flow greet") || !strings.Contains(e.StatusMessage, parent+".js:6:") {
			t.Fatalf("uncaught child error: %s %q", e.Status, e.StatusMessage)
		}
		e = runFlow(t, b.api, parent, map[string]any{"mode": "missing"})
		if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, `no flow named "no_such_flow_here"`) || !strings.Contains(e.StatusMessage, parent+".js:3:") {
			t.Fatalf("missing flow: %s %q", e.Status, e.StatusMessage)
		}
		bad := unique("badinputs")
		pushFlow(t, b.api, bad, "function handler() {\n  this.flow('greet', 'Ada');\n}")
		if e := runFlow(t, b.api, bad, nil); e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "inputs must be an object") || !strings.Contains(e.StatusMessage, ":2:") {
			t.Fatalf("non-object inputs: %s %q", e.Status, e.StatusMessage)
		}
	})
}

// TestParallelConnects: 50 connects with wait: false run at most MaxParallel at once
// and all of them end; each is one CONNECTION row.
func TestParallelConnects(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path": %q}`, r.URL.Path)
	}))
	defer srv.Close()
	each(t, func(t *testing.T, b *backend) {
		peak.Store(0)
		name := unique("parallel")
		pushFlow(t, b.api, name, `function handler(system, inputs) {
  const calls = [];
  for (let i = 0; i < 50; i++) {
    calls.push(this.connect({connector_type: 'REST', url: inputs.base + '/item/' + i, wait: false}));
  }
  const done = this.wait_for(calls);
  return {n: done.length, last: done[49].get('output_value').json.path};
}`)
		e := runFlow(t, b.api, name, map[string]any{"base": srv.URL})
		if e.Status != "ENDED_SUCCESS" || e.Outputs["n"] != float64(50) || e.Outputs["last"] != "/item/49" {
			t.Fatalf("ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
		}
		if p := peak.Load(); p < 2 || p > 20 {
			t.Fatalf("peak concurrency %d, want between 2 and the limit of 20", p)
		}
		if kids := childrenOf(t, b.api, e.ID); len(kids) != 50 {
			t.Fatalf("%d CONNECTION rows, want 50", len(kids))
		}
	})
}

// TestMessages: this.message sets WAITING with the message until it is answered over
// the API; a timeout throws TimeoutExceededError; a message needs a subject.
func TestMessages(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		pushExample(t, b.api, "approval")
		var e execution
		b.api.must(t, "POST", "/api/v1/flows/approval/executions", map[string]any{"inputs": map[string]any{"amount": 99}}, &e, 201)
		var waiting struct {
			execution
			Message struct {
				ID      int    `json:"id"`
				Subject string `json:"subject"`
			} `json:"message"`
		}
		waitStatus(t, b.api, e.ID, "WAITING")
		b.api.must(t, "GET", "/api/v1/executions/"+e.ID, nil, &waiting, 200)
		if waiting.Message.Subject != "Approve a payment of 99 EUR?" {
			t.Fatalf("pending message: %+v", waiting.Message)
		}
		b.api.must(t, "POST", "/api/v1/executions/"+e.ID+"/messages", map[string]any{}, nil, 400)
		b.api.must(t, "POST", "/api/v1/executions/"+e.ID+"/messages", map[string]any{"answer": map[string]any{"approved": true, "comment": "fine"}}, nil, 202)
		e = waitEnded(t, b.api, e.ID, 30*time.Second)
		if e.Status != "ENDED_SUCCESS" || e.StatusMessage != "approved: fine" {
			t.Fatalf("approval ended %s %q", e.Status, e.StatusMessage)
		}
		b.api.must(t, "POST", "/api/v1/executions/"+e.ID+"/messages", map[string]any{"answer": true}, nil, 409)

		e = runFlow(t, b.api, "approval", map[string]any{"timeout": 1})
		if e.Status != "ENDED_ERROR" || e.StatusMessage != "nobody answered in time" {
			t.Fatalf("timed-out approval ended %s %q", e.Status, e.StatusMessage)
		}
		nosubj := unique("nosubject")
		pushFlow(t, b.api, nosubj, "function handler() {\n  this.message({body: 'hi'});\n}")
		if e := runFlow(t, b.api, nosubj, nil); e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "subject is required") || !strings.Contains(e.StatusMessage, ":2:") {
			t.Fatalf("message without subject: %s %q", e.Status, e.StatusMessage)
		}
	})
}

// TestSettingsAndFiles: the incremental feed example keeps its cursor in a setting
// across runs; files are readable and writable from flows and the API.
func TestSettingsAndFiles(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		pushExample(t, b.api, "incremental_feed")
		setting := unique("cursor")
		in := map[string]any{"url": b.app.URL + "/demo/anything/feed", "setting": setting}
		e1 := runFlow(t, b.api, "incremental_feed", in)
		e2 := runFlow(t, b.api, "incremental_feed", in)
		if e1.Status != "ENDED_SUCCESS" || e1.Outputs["fetched_since"] != float64(0) || e2.Outputs["fetched_since"] != float64(10) {
			t.Fatalf("feed runs: %s %q %v / %v", e1.Status, e1.StatusMessage, e1.Outputs, e2.Outputs)
		}
		var s struct {
			Value map[string]any `json:"value"`
		}
		b.api.must(t, "GET", "/api/v1/settings/"+setting, nil, &s, 200)
		if s.Value["since"] != float64(20) {
			t.Fatalf("setting: %v", s.Value)
		}
		b.api.must(t, "PUT", "/api/v1/settings/"+setting, map[string]any{"value": map[string]any{"since": 100}}, nil, 200)
		if e := runFlow(t, b.api, "incremental_feed", in); e.Outputs["fetched_since"] != float64(100) {
			t.Fatalf("after PUT the feed fetched since %v", e.Outputs["fetched_since"])
		}
		b.api.must(t, "PUT", "/api/v1/settings/"+setting, map[string]any{}, nil, 400)

		file := unique("report") + ".txt"
		b.api.must(t, "PUT", "/api/v1/files/"+file, map[string]any{"text": "line one"}, nil, 200)
		name := unique("files")
		pushFlow(t, b.api, name, `function handler(system, inputs) {
  const f = system.file(inputs.file);
  const before = f.get_text_content();
  f.save_text_content(before + '\nline two');
  system.file(inputs.file + '.bin').save_base64_content('AAEC');
  return {before: before, b64: system.file(inputs.file + '.bin').get_base64_content()};
}`)
		e := runFlow(t, b.api, name, map[string]any{"file": file})
		if e.Status != "ENDED_SUCCESS" || e.Outputs["before"] != "line one" || e.Outputs["b64"] != "AAEC" {
			t.Fatalf("file flow: %s %q %v", e.Status, e.StatusMessage, e.Outputs)
		}
		var f struct {
			Text   string `json:"text"`
			Base64 string `json:"base64"`
			Size   int    `json:"size"`
		}
		b.api.must(t, "GET", "/api/v1/files/"+file, nil, &f, 200)
		if f.Text != "line one\nline two" || f.Size != 17 {
			t.Fatalf("file after the flow: %+v", f)
		}
		b.api.must(t, "PUT", "/api/v1/files/"+file, map[string]any{"text": "a", "base64": "YQ=="}, nil, 400)
		b.api.must(t, "DELETE", "/api/v1/files/"+file, nil, nil, 204)
		b.api.must(t, "GET", "/api/v1/files/"+file, nil, nil, 404)
	})
}

// TestCancelTree: cancelling a parent cancels its running child flow and its running
// connection first; all end ENDED_CANCELLED.
func TestCancelTree(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	each(t, func(t *testing.T, b *backend) {
		sleeper := unique("sleeper")
		pushFlow(t, b.api, sleeper, "function handler() { this.sleep(600); }")
		parent := unique("tree")
		pushFlow(t, b.api, parent, fmt.Sprintf(`function handler(system, inputs) {
  const child = this.flow(%q, {}, {wait: false});
  const call = this.connect({connector_type: 'REST', url: inputs.url, wait: false});
  this.wait_for(child, call);
}`, sleeper))
		var e execution
		b.api.must(t, "POST", "/api/v1/flows/"+parent+"/executions", map[string]any{"inputs": map[string]any{"url": srv.URL}}, &e, 201)
		waitChildren(t, b.api, e.ID, "the child flow sleeps and the connection runs", func(kids []execution) bool {
			waiting := 0
			for _, k := range kids {
				if k.Type == "FLOW" && k.Status == "WAITING" || k.Type == "CONNECTION" && k.Status == "RUNNING" {
					waiting++
				}
			}
			return waiting == 2
		})
		b.api.must(t, "POST", "/api/v1/executions/"+e.ID+"/cancel", nil, nil, 202)
		e = waitEnded(t, b.api, e.ID, 30*time.Second)
		if e.Status != "ENDED_CANCELLED" {
			t.Fatalf("parent ended %s %q", e.Status, e.StatusMessage)
		}
		for _, k := range childrenOf(t, b.api, e.ID) {
			if k.Status != "ENDED_CANCELLED" {
				t.Errorf("child %s %s ended %s %q, want ENDED_CANCELLED", k.Type, k.Name, k.Status, k.StatusMessage)
			}
		}
	})
}

// TestChildGone: a parent whose child flow is terminated behind its back (an operator
// with the Temporal CLI) does not wait forever: the child ends ENDED_ERROR and the
// parent sees a catchable ExecutionError.
func TestChildGone(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		sleeper, parent := unique("gone_child"), unique("gone_parent")
		pushFlow(t, b.api, sleeper, "function handler() { this.sleep(600); }")
		pushFlow(t, b.api, parent, fmt.Sprintf(`function handler() {
  try { this.flow(%q, {}); } catch (e) { return {caught: e.name, status: e.execution.get('status')}; }
}`, sleeper))
		var e execution
		b.api.must(t, "POST", "/api/v1/flows/"+parent+"/executions", map[string]any{}, &e, 201)
		kids := waitChildren(t, b.api, e.ID, "the child sleeps", func(kids []execution) bool {
			return len(kids) == 1 && kids[0].Status == "WAITING"
		})
		if err := b.app.Temporal.TerminateWorkflow(context.Background(), kids[0].ID, "", "terminated by the test"); err != nil {
			t.Fatal(err)
		}
		e = waitEnded(t, b.api, e.ID, 30*time.Second)
		if e.Status != "ENDED_SUCCESS" || e.Outputs["caught"] != "ExecutionError" || e.Outputs["status"] != "ENDED_ERROR" {
			t.Fatalf("parent ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
		}
		var child execution
		b.api.must(t, "GET", "/api/v1/executions/"+kids[0].ID, nil, &child, 200)
		if child.Status != "ENDED_ERROR" || !strings.Contains(child.StatusMessage, "did not finish") {
			t.Fatalf("child ended %s %q", child.Status, child.StatusMessage)
		}
	})
}
