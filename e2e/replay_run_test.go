package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// This file is about replays of executions against their recorded responses
// (POST /api/v1/executions/{id}/replay, engine/replay.go); replay_test.go is about
// Temporal's replay of recorded workflow histories.

// replayed is an execution with the fields of a replay.
type replayed struct {
	execution
	ReplayOf *string `json:"replay_of"`
}

// replayParent makes three connects (the third fails with HTTP 500 and is caught),
// sleeps, runs a child flow that makes a connect of its own, and asks a person.
const replayParent = `function handler(system, inputs) {
  const a = this.connect({connector_type: 'REST', url: inputs.base + '/a'});
  const b = this.connect({connector_type: 'REST', url: inputs.base + '/b', method: 'POST',
    json: {from: a.get('output_value').json.n}});
  this.sleep(2);
  const kid = this.flow('CHILD', {base: inputs.base, x: 7});
  let failed = null;
  try {
    this.connect({connector_type: 'REST', url: inputs.base + '/fail'});
  } catch (e) {
    failed = e.message.replace(/\([0-9a-f-]{36}\)/, '(id)');
  }
  const answer = this.message({subject: 'go on?', fields: [{name: 'ok', type: 'boolean'}]});
  EXTRA
  return {a: a.get('output_value').json, b: b.get('output_value').json, c: kid.get('output_value').c,
    failed: failed, answer: answer, started: new Date(Date.now()).getUTCFullYear() > 2000};
}`

const replayChild = `function handler(system, inputs) {
  const c = this.connect({connector_type: 'REST', url: inputs.base + '/c', params: {x: String(inputs.x)}});
  return {c: c.get('output_value').json};
}`

// TestReplayRun: a replay answers the connects, the child flow's connect and the
// message of an ended execution from what it recorded, returns at once from its
// sleep, calls no service, and gives the same outputs; a changed connect, or one
// more, ends it "replay diverged at connect #N"; editors only; the CLI prints it.
func TestReplayRun(t *testing.T) {
	var hits atomic.Int64
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/a":
			fmt.Fprint(w, `{"n": 1}`)
		case "/b":
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			fmt.Fprintf(w, `{"n": 2, "from": %v}`, body["from"])
		case "/c":
			fmt.Fprintf(w, `{"n": 3, "x": %q}`, r.URL.Query().Get("x"))
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error": "broken on purpose"}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer svc.Close()

	each(t, func(t *testing.T, b *backend) {
		child := unique("replay_child")
		parent := unique("replay_parent")
		script := strings.ReplaceAll(replayParent, "CHILD", child)
		pushFlow(t, b.api, child, replayChild)
		pushFlow(t, b.api, parent, strings.ReplaceAll(script, "EXTRA", ""))

		// The recorded execution.
		before := hits.Load()
		var orig execution
		b.api.must(t, "POST", "/api/v1/flows/"+parent+"/executions", map[string]any{"inputs": map[string]any{"base": svc.URL}}, &orig, 201)
		waitMessage(t, b.api, orig.ID)
		b.api.must(t, "POST", "/api/v1/executions/"+orig.ID+"/messages", map[string]any{"answer": map[string]any{"ok": true}}, nil, 202)
		orig = waitEnded(t, b.api, orig.ID, time.Minute)
		if orig.Status != "ENDED_SUCCESS" {
			t.Fatalf("the recorded run ended %s: %s", orig.Status, orig.StatusMessage)
		}
		if got := fmt.Sprint(orig.Outputs["failed"]); !strings.Contains(got, "500") {
			t.Fatalf("the recorded run's failed connect: %q", got)
		}
		recorded := hits.Load()
		if recorded-before != 4 {
			t.Fatalf("the recorded run made %d requests, want 4", recorded-before)
		}

		t.Run("same script", func(t *testing.T) {
			var r replayed
			b.api.must(t, "POST", "/api/v1/executions/"+orig.ID+"/replay?wait=60", nil, &r, 200)
			if r.Status != "ENDED_SUCCESS" {
				t.Fatalf("replay ended %s: %s", r.Status, r.StatusMessage)
			}
			if !reflect.DeepEqual(r.Outputs, orig.Outputs) {
				t.Fatalf("replay outputs %v, want the recorded %v", r.Outputs, orig.Outputs)
			}
			if r.Trigger != "replay" || r.ReplayOf == nil || *r.ReplayOf != orig.ID || r.ParentID != nil || r.RootID != r.ID {
				t.Fatalf("replay execution: %+v", r)
			}
			if got := hits.Load(); got != recorded {
				t.Fatalf("the replay made %d requests to the service, want 0", got-recorded)
			}
			checkReplayedTree(t, b, orig.ID, r.ID)
			// The sleep returned at once: the replay's workflow started no timer
			// (the original's did).
			if n := timers(t, b, orig.ID); n == 0 {
				t.Fatal("the recorded run started no timer: the test does not test the sleep")
			}
			if n := timers(t, b, r.ID); n != 0 {
				t.Fatalf("the replay started %d timers, want none", n)
			}
		})

		t.Run("changed connect", func(t *testing.T) {
			changed := strings.ReplaceAll(strings.Replace(script, "'/b'", "'/b2'", 1), "EXTRA", "")
			var r replayed
			b.api.must(t, "POST", "/api/v1/executions/"+orig.ID+"/replay?wait=60", map[string]any{"script": changed}, &r, 200)
			if r.Status != "ENDED_ERROR" || !strings.HasPrefix(r.StatusMessage, "replay diverged at connect #2") ||
				!strings.Contains(r.StatusMessage, svc.URL+"/b\"") || !strings.Contains(r.StatusMessage, svc.URL+"/b2\"") || !strings.Contains(r.StatusMessage, "differ in url") {
				t.Fatalf("replay with a changed 2nd connect ended %s: %s", r.Status, r.StatusMessage)
			}
			if got := hits.Load(); got != recorded {
				t.Fatalf("the replay made %d requests to the service, want 0", got-recorded)
			}
		})

		t.Run("one more connect", func(t *testing.T) {
			// Caught by the script: the replay ends diverged all the same.
			more := strings.ReplaceAll(script, "EXTRA", "try { this.connect({connector_type: 'REST', url: inputs.base + '/d'}); } catch (e) {}")
			var r replayed
			b.api.must(t, "POST", "/api/v1/executions/"+orig.ID+"/replay?wait=60", map[string]any{"script": more}, &r, 200)
			if r.Status != "ENDED_ERROR" || !strings.HasPrefix(r.StatusMessage, "replay diverged at connect #4: recorded nothing") || !strings.Contains(r.StatusMessage, svc.URL+"/d") {
				t.Fatalf("replay with one more connect ended %s: %s", r.Status, r.StatusMessage)
			}
			if got := hits.Load(); got != recorded {
				t.Fatalf("the replay made %d requests to the service, want 0", got-recorded)
			}
		})

		t.Run("changed child flow", func(t *testing.T) {
			// A divergence inside the child flow ends the whole replay with it.
			// A replay's child flows run their flow's latest revision.
			pushFlow(t, b.api, child, strings.Replace(replayChild, "'/c'", "'/c2'", 1))
			defer pushFlow(t, b.api, child, replayChild)
			var r replayed
			b.api.must(t, "POST", "/api/v1/executions/"+orig.ID+"/replay?wait=60", nil, &r, 200)
			if r.Status != "ENDED_ERROR" || !strings.HasPrefix(r.StatusMessage, "replay diverged at connect #1") || !strings.Contains(r.StatusMessage, "in child flow "+child) {
				t.Fatalf("replay with a changed child ended %s: %s", r.Status, r.StatusMessage)
			}
		})

		t.Run("secret", func(t *testing.T) {
			// A divergence shows inputs as connections record them: a secret as its
			// reference, never its value; a replay resolves no secret.
			secret, value := unique("replay_key"), "s3cr3t-"+unique("v")
			b.api.must(t, "PUT", "/api/v1/secrets/"+secret, map[string]string{"value": value}, nil, 200, 201)
			flow := unique("replay_secret")
			src := `function handler(system, inputs) {
  return this.connect({connector_type: 'REST', url: inputs.base + '/a', headers: {'X-Key': system.secret('` + secret + `')}}).get('output_value').json;
}`
			pushFlow(t, b.api, flow, src)
			e := runFlow(t, b.api, flow, map[string]any{"base": svc.URL})
			if e.Status != "ENDED_SUCCESS" {
				t.Fatalf("run ended %s: %s", e.Status, e.StatusMessage)
			}
			recorded = hits.Load()
			var r replayed
			b.api.must(t, "POST", "/api/v1/executions/"+e.ID+"/replay?wait=60", nil, &r, 200)
			if r.Status != "ENDED_SUCCESS" || !reflect.DeepEqual(r.Outputs, e.Outputs) {
				t.Fatalf("replay ended %s: %s %v", r.Status, r.StatusMessage, r.Outputs)
			}
			b.api.must(t, "POST", "/api/v1/executions/"+e.ID+"/replay?wait=60", map[string]any{"script": strings.Replace(src, "'/a'", "'/a2'", 1)}, &r, 200)
			if r.Status != "ENDED_ERROR" || !strings.HasPrefix(r.StatusMessage, "replay diverged at connect #1") || strings.Contains(r.StatusMessage, value) || !strings.Contains(r.StatusMessage, secret) {
				t.Fatalf("replay with a changed url ended %s: %s", r.Status, r.StatusMessage)
			}
			if got := hits.Load(); got != recorded {
				t.Fatalf("the replays made %d requests to the service, want 0", got-recorded)
			}
		})

		t.Run("refusals", func(t *testing.T) {
			runner := clientWithRole(t, b, "runner")
			runner.must(t, "POST", "/api/v1/executions/"+orig.ID+"/replay", nil, nil, 403)
			b.api.must(t, "POST", "/api/v1/executions/00000000-0000-0000-0000-000000000000/replay", nil, nil, 404)
			conn := childrenOf(t, b.api, orig.ID)[0]
			if conn.Type != "CONNECTION" {
				t.Fatalf("first child: %+v", conn)
			}
			b.api.must(t, "POST", "/api/v1/executions/"+conn.ID+"/replay", nil, nil, 400)
			var bad struct {
				Error struct {
					Code string `json:"code"`
					Line int    `json:"line"`
				} `json:"error"`
			}
			b.api.must(t, "POST", "/api/v1/executions/"+orig.ID+"/replay", map[string]any{"script": "function handler() {\n  return {;\n}"}, &bad, 422)
			if bad.Error.Code != "invalid_script" || bad.Error.Line < 2 {
				t.Fatalf("a script that does not compile: %+v", bad)
			}
			// Still running: waiting for an answer.
			var running execution
			b.api.must(t, "POST", "/api/v1/flows/"+parent+"/executions", map[string]any{"inputs": map[string]any{"base": svc.URL}}, &running, 201)
			waitMessage(t, b.api, running.ID)
			b.api.must(t, "POST", "/api/v1/executions/"+running.ID+"/replay", nil, nil, 409)
			b.api.must(t, "POST", "/api/v1/executions/"+running.ID+"/cancel", nil, nil, 202)
			waitEnded(t, b.api, running.ID, time.Minute)
			recorded = hits.Load()
		})

		t.Run("cli", func(t *testing.T) {
			env := []string{"FLOWD_URL=" + b.app.URL, "FLOWD_CLIENT_ID=" + adminID, "FLOWD_CLIENT_SECRET=" + adminSecret}
			var out bytes.Buffer
			cmd := flowdCommand(t, env, "replay", orig.ID)
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("flowd replay: %v\n%s", err, out.String())
			}
			var r replayed
			if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Status != "ENDED_SUCCESS" || r.Trigger != "replay" || !reflect.DeepEqual(r.Outputs, orig.Outputs) {
				t.Fatalf("flowd replay printed (%v):\n%s", err, out.String())
			}

			file := filepath.Join(t.TempDir(), "edited.js")
			if err := os.WriteFile(file, []byte(strings.ReplaceAll(strings.Replace(script, "'/b'", "'/b2'", 1), "EXTRA", "")), 0o600); err != nil {
				t.Fatal(err)
			}
			out.Reset()
			cmd = flowdCommand(t, env, "replay", orig.ID, "--script", file)
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if err == nil || !strings.Contains(out.String(), "flowd: replay ") || !strings.Contains(out.String(), "replay diverged at connect #2") {
				t.Fatalf("flowd replay --script with a changed connect: %v\n%s", err, out.String())
			}
			if got := hits.Load(); got != recorded {
				t.Fatalf("the replays made %d requests to the service, want 0", got-recorded)
			}
		})
	})
}

// checkReplayedTree checks that the replay's tree mirrors the recorded one: each
// child answered by the recorded one its replay_of names, with its status and
// message, and the child flow's connection too.
func checkReplayedTree(t *testing.T, b *backend, origID, replayID string) {
	t.Helper()
	var orig, rep struct {
		Items []replayed `json:"items"`
	}
	b.api.must(t, "GET", "/api/v1/executions/"+origID+"/children", nil, &orig, 200)
	b.api.must(t, "GET", "/api/v1/executions/"+replayID+"/children", nil, &rep, 200)
	if len(rep.Items) != len(orig.Items) || len(orig.Items) != 4 {
		t.Fatalf("the replay has %d children, the recorded run %d (want 4)", len(rep.Items), len(orig.Items))
	}
	byID := map[string]replayed{}
	for _, o := range orig.Items {
		byID[o.ID] = o
	}
	for _, r := range rep.Items {
		if r.ReplayOf == nil {
			t.Fatalf("replayed child without replay_of: %+v", r)
		}
		o, ok := byID[*r.ReplayOf]
		if !ok || o.Type != r.Type || o.Name != r.Name || o.Status != r.Status || o.StatusMessage != r.StatusMessage {
			t.Fatalf("replayed child %+v\nanswers with %+v", r, o)
		}
		if r.Type == "CONNECTION" && r.Outputs["execution_id"] != r.ID {
			t.Fatalf("replayed connection's outputs name %v, want itself %s", r.Outputs["execution_id"], r.ID)
		}
		if r.Type == "FLOW" {
			kids := childrenOf(t, b.api, r.ID)
			if r.Trigger != "parent" || len(kids) != 1 || kids[0].Status != "ENDED_SUCCESS" {
				t.Fatalf("replayed child flow %+v with children %+v", r, kids)
			}
		}
	}
}

// waitMessage waits until an execution shows a message to answer.
func waitMessage(t *testing.T, c *client, id string) {
	t.Helper()
	eventually(t, time.Minute, "execution "+id+" shows a message", func() (bool, string) {
		var e struct {
			Status  string          `json:"status"`
			Message json.RawMessage `json:"message"`
		}
		c.must(t, "GET", "/api/v1/executions/"+id, nil, &e, 200)
		if strings.HasPrefix(e.Status, "ENDED_") {
			t.Fatalf("execution %s ended %s before its message", id, e.Status)
		}
		return len(e.Message) > 0 && string(e.Message) != "null", e.Status
	})
}

// timers counts the timers an execution's workflow started.
func timers(t *testing.T, b *backend, id string) int {
	t.Helper()
	n := 0
	for _, ev := range historyOf(t, b, id).Events {
		if ev.GetEventType() == enumspb.EVENT_TYPE_TIMER_STARTED && ev.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration() >= time.Second {
			n++
		}
	}
	return n
}

// clientWithRole creates an API client with role and returns it signed in.
func clientWithRole(t *testing.T, b *backend, role string) *client {
	t.Helper()
	var created struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	b.api.must(t, "POST", "/api/v1/clients", map[string]string{"name": unique(role), "role": role}, &created, 201)
	c := &client{base: b.app.URL}
	if err := c.login(created.ID, created.Secret); err != nil {
		t.Fatal(err)
	}
	return c
}
