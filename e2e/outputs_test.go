package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitOutputs waits until execution id has status and the output stage, as
// GET /api/v1/executions/{id} shows it, and returns it.
func waitOutputs(t *testing.T, c *client, id, status, stage string) execution {
	t.Helper()
	var e execution
	eventually(t, 60*time.Second, fmt.Sprintf("execution %s is %s with outputs.stage %q", id, status, stage), func() (bool, string) {
		e = execution{}
		st, err := c.call("GET", "/api/v1/executions/"+id, nil, &e)
		return err == nil && st == 200 && e.Status == status && e.Outputs["stage"] == stage, fmt.Sprintf("HTTP %d %v: %s %v", st, err, e.Status, e.Outputs)
	})
	return e
}

// cancelAndWait cancels a running execution and waits until it ended cancelled.
func cancelAndWait(t *testing.T, c *client, id string) {
	t.Helper()
	c.must(t, "POST", "/api/v1/executions/"+id+"/cancel", nil, nil, 202)
	if e := waitEnded(t, c, id, 60*time.Second); e.Status != "ENDED_CANCELLED" {
		t.Fatalf("after cancel the execution ended %s: %s", e.Status, e.StatusMessage)
	}
}

// TestOutputsWhileSleeping is issue 12's defect 2: outputs set before a sleep are
// shown while the execution is WAITING, by GET and by GET ?wait=.
func TestOutputsWhileSleeping(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name := unique("half")
		pushFlow(t, b.api, name, `function handler() { this.set_output('stage', 'half'); this.sleep(3600); }`)
		var e execution
		b.api.must(t, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{}, &e, 201)
		waitOutputs(t, b.api, e.ID, "WAITING", "half")
		var w execution
		b.api.must(t, "GET", "/api/v1/executions/"+e.ID+"?wait=1", nil, &w, 202)
		if w.Status != "WAITING" || w.Outputs["stage"] != "half" {
			t.Fatalf("?wait= answered %s with outputs %v, want WAITING with stage half", w.Status, w.Outputs)
		}
		cancelAndWait(t, b.api, e.ID)
	})
}

// TestOutputsAtEveryDurableStep checks that a connect, a child flow wait, a message
// and a sleep each show the outputs set before them, in the API and in the live
// view (the server-sent events of the log stream, which the web UI reads).
func TestOutputsAtEveryDurableStep(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		// /first and /hold answer once their channel is closed.
		first, release := make(chan struct{}), make(chan struct{})
		var onceFirst, once sync.Once
		hold := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ch := release
			if r.URL.Path == "/first" {
				ch = first
			}
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"ok": true}`)
		}))
		defer hold.Close()
		defer once.Do(func() { close(release) })
		defer onceFirst.Do(func() { close(first) })

		child := unique("asker")
		pushFlow(t, b.api, child, `function handler() { return {a: this.message({subject: 'child asks'})}; }`)
		name := unique("stages")
		pushFlow(t, b.api, name, `function handler(system, inputs) {
  this.connect({connector_type: 'REST', url: inputs.base + '/first'});
  this.set_output('stage', 'connect');
  this.connect({connector_type: 'REST', url: inputs.base + '/hold'});
  this.set_output('stage', 'child');
  this.flow(inputs.child, {});
  this.set_output('stage', 'message');
  this.message({subject: 'parent asks'});
  this.set_output('stage', 'sleep');
  this.sleep(3600);
}`)
		var e execution
		b.api.must(t, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{"inputs": map[string]any{"base": hold.URL, "child": child}}, &e, 201)

		// The live view: every "status" event's outputs.stage, in order.
		var mu sync.Mutex
		var live []string
		req, _ := http.NewRequest("GET", b.app.URL+"/api/v1/executions/"+e.ID+"/logs", nil)
		req.Header.Set("Authorization", "Bearer "+b.api.token)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		go func() {
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			event := ""
			for sc.Scan() {
				line := sc.Text()
				switch {
				case strings.HasPrefix(line, "event: "):
					event = line[7:]
				case strings.HasPrefix(line, "data: ") && event == "status":
					var x execution
					if json.Unmarshal([]byte(line[6:]), &x) == nil {
						mu.Lock()
						live = append(live, fmt.Sprintf("%s %v", x.Status, x.Outputs["stage"]))
						mu.Unlock()
					}
				}
			}
		}()
		seen := func(t *testing.T, want string) {
			t.Helper()
			eventually(t, 30*time.Second, "the live view shows "+want, func() (bool, string) {
				mu.Lock()
				defer mu.Unlock()
				for _, s := range live {
					if s == want {
						return true, ""
					}
				}
				return false, strings.Join(live, ", ")
			})
		}

		// A connect in flight: RUNNING, with the outputs it was started with. The live
		// view showed the execution RUNNING without them before: it sends the change
		// of the outputs alone.
		seen(t, "RUNNING <nil>")
		onceFirst.Do(func() { close(first) })
		waitOutputs(t, b.api, e.ID, "RUNNING", "connect")
		seen(t, "RUNNING connect")
		once.Do(func() { close(release) })

		// Waiting for a child flow, itself waiting for an answer.
		waitOutputs(t, b.api, e.ID, "WAITING", "child")
		seen(t, "WAITING child")
		var kid *execution
		eventually(t, 30*time.Second, "the child flow is WAITING", func() (bool, string) {
			for _, k := range childrenOf(t, b.api, e.ID) {
				if k.Type == "FLOW" && k.Status == "WAITING" {
					kid = &k
					return true, ""
				}
			}
			return false, "no waiting FLOW child"
		})
		b.api.must(t, "POST", "/api/v1/executions/"+kid.ID+"/messages", map[string]any{"answer": "yes"}, nil, 202)

		// Waiting for an answer of its own.
		waitOutputs(t, b.api, e.ID, "WAITING", "message")
		seen(t, "WAITING message")
		b.api.must(t, "POST", "/api/v1/executions/"+e.ID+"/messages", map[string]any{"answer": "yes"}, nil, 202)

		// Sleeping.
		waitOutputs(t, b.api, e.ID, "WAITING", "sleep")
		seen(t, "WAITING sleep")
		cancelAndWait(t, b.api, e.ID)
		if k := waitEnded(t, b.api, kid.ID, 30*time.Second); k.Status != "ENDED_SUCCESS" {
			t.Fatalf("the child ended %s: %s", k.Status, k.StatusMessage)
		}
	})
}
