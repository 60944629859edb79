package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// flowdProcess is flowd running in a child process (this test binary re-executed with
// FLOWD_E2E_SERVE set), so that a test can kill -9 it.
type flowdProcess struct {
	cmd *exec.Cmd
	url string
}

func startProcess(t *testing.T, dataDir string, apiPort, temporalPort int, dbURL string) *flowdProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLOWD_E2E_SERVE=1", "FLOWD_DATA_DIR="+dataDir, "FLOWD_DATABASE_URL="+dbURL,
		fmt.Sprintf("FLOWD_ADDR=127.0.0.1:%d", apiPort), fmt.Sprintf("FLOWD_TEMPORAL_PORT=%d", temporalPort))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &flowdProcess{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", apiPort)}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	eventually(t, 90*time.Second, "flowd in a child process gets ready at "+p.url, func() (bool, string) {
		resp, err := http.Get(p.url + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return p
}

// killable is flowd in a child process with its data dir, ports and database kept
// across a kill -9, so that start brings the same flowd back.
type killable struct {
	dir                   string
	apiPort, temporalPort int
	dbURL                 string
	p                     *flowdProcess
	c                     *client // signed in as the admin
}

// newKillable starts flowd in a child process on the backend's kind of database.
func newKillable(t *testing.T, b *backend) *killable {
	t.Helper()
	k := &killable{dir: t.TempDir(), apiPort: freePort(t), temporalPort: freePort(t)}
	if b.name == "postgres" {
		k.dbURL = os.Getenv("FLOWD_TEST_POSTGRES_URL")
	}
	k.start(t)
	return k
}

// start starts (or, after kill9, restarts) the process and signs in.
func (k *killable) start(t *testing.T) {
	t.Helper()
	k.p = startProcess(t, k.dir, k.apiPort, k.temporalPort, k.dbURL)
	k.c = &client{base: k.p.url}
	if err := k.c.login(adminID, adminSecret); err != nil {
		t.Fatal(err)
	}
}

func (p *flowdProcess) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// TestKillDuringConnect kills flowd with SIGKILL while a flow waits on a slow
// connection, starts it again, and checks that the flow completes as if nothing had
// happened: the same Date.now() and Math.random() values, one CONNECTION row per
// call and no lost or doubled log lines.
func TestKillDuringConnect(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		var calls, slowCalls atomic.Int32
		arrived := make(chan struct{}, 10)
		release := make(chan struct{})
		var once sync.Once
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := calls.Add(1)
			arrived <- struct{}{}
			if r.URL.Path == "/slow" && slowCalls.Add(1) == 1 {
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"path": %q, "call": %d}`, r.URL.Path, n)
		}))
		defer slow.Close()
		defer once.Do(func() { close(release) })

		k := newKillable(t, b)
		c := k.c
		name := unique("durable")
		pushFlow(t, c, name, `function handler(system, inputs) {
  const t0 = Date.now(), r0 = Math.random();
  this.log('before t0=' + t0 + ' r0=' + r0);
  const fast = this.connect({connector_type: 'REST', url: inputs.base + '/fast'});
  const slow = this.connect({connector_type: 'REST', url: inputs.base + '/slow'});
  this.log('after');
  return {t0: String(t0), r0: String(r0), r1: String(Math.random()), fast: fast.get('output_value').json.path, slow: slow.get('output_value').json.path};
}`)
		var started execution
		c.must(t, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{"inputs": map[string]any{"base": slow.URL}}, &started, 201)
		for range 2 { // /fast, then /slow, which now hangs
			select {
			case <-arrived:
			case <-time.After(60 * time.Second):
				t.Fatal("the flow did not call the slow server")
			}
		}
		var before []logLine
		eventually(t, 10*time.Second, "the line logged before the slow call is stored", func() (bool, string) {
			before = logsOf(t, c, started.ID)
			return len(before) > 0, "no log lines"
		})
		if len(before) != 1 {
			t.Fatalf("log lines before the kill: %+v", before)
		}
		k.p.kill9(t)
		once.Do(func() { close(release) })

		k.start(t)
		c = k.c
		e := waitEnded(t, c, started.ID, 90*time.Second)
		if e.Status != "ENDED_SUCCESS" {
			t.Fatalf("after the restart the flow ended %s: %s", e.Status, e.StatusMessage)
		}
		want := fmt.Sprintf("before t0=%s r0=%s", e.Outputs["t0"], e.Outputs["r0"])
		if before[0].Message != want {
			t.Fatalf("Date.now()/Math.random() changed across the crash: logged %q before, %q after", before[0].Message, want)
		}
		if e.Outputs["fast"] != "/fast" || e.Outputs["slow"] != "/slow" {
			t.Fatalf("outputs: %v", e.Outputs)
		}
		kids := childrenOf(t, c, e.ID)
		if len(kids) != 2 {
			t.Fatalf("want 2 CONNECTION rows (one per call), got %d: %+v", len(kids), kids)
		}
		for _, k := range kids {
			if k.Status != "ENDED_SUCCESS" {
				t.Fatalf("connection %s ended %s: %s", k.ID, k.Status, k.StatusMessage)
			}
		}
		lines := logsOf(t, c, e.ID)
		var msgs []string
		for _, l := range lines {
			msgs = append(msgs, l.Message)
		}
		if len(lines) != 2 || lines[0].Message != want || lines[1].Message != "after" {
			t.Fatalf("log lines after the restart: %q", strings.Join(msgs, " | "))
		}
		// /fast was answered before the kill and is not called again.
		if n := calls.Load(); n != 3 {
			t.Fatalf("the slow server saw %d calls, want 3 (fast, slow killed, slow again)", n)
		}
	})
}

// TestKillDuringWaits kills flowd with SIGKILL while executions sleep, wait for a
// message and wait for a child flow, and while 20 executions of a flow that was edited
// meanwhile sleep; after a restart each ends as it would have, on its own revision,
// with its clock and random values unchanged and no duplicated rows.
func TestKillDuringWaits(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		k := newKillable(t, b)
		c := k.c
		sleeper, asker, parent, child, edited := unique("k_sleep"), unique("k_ask"), unique("k_parent"), unique("k_child"), unique("k_edit")
		pushFlow(t, c, sleeper, `function handler() {
  const t0 = Date.now(), r0 = Math.random();
  this.log('before ' + t0 + ' ' + r0);
  this.sleep(4);
  return {t0: String(t0), r0: String(r0), slept: Date.now() - t0};
}`)
		pushFlow(t, c, asker, `function handler() { return this.message({subject: 'go on?'}); }`)
		pushFlow(t, c, child, `function handler() { this.sleep(4); return {child: true}; }`)
		pushFlow(t, c, parent, fmt.Sprintf(`function handler() { return {got: this.flow(%q, {}).get('output_value').child}; }`, child))
		pushFlow(t, c, edited, `function handler() { this.sleep(4); return {revision: 1}; }`)

		start := func(flow string) string {
			var e execution
			c.must(t, "POST", "/api/v1/flows/"+flow+"/executions", map[string]any{}, &e, 201)
			return e.ID
		}
		sleepID, askID, parentID := start(sleeper), start(asker), start(parent)
		var editedIDs []string
		for range 20 {
			editedIDs = append(editedIDs, start(edited))
		}
		pushFlow(t, c, edited, `function handler() { const x = Math.random(); this.log('new code'); this.sleep(1); return {revision: 2}; }`)
		waitStatus(t, c, askID, "WAITING")
		waitStatus(t, c, sleepID, "WAITING")
		for _, id := range editedIDs {
			waitStatus(t, c, id, "WAITING")
		}
		before := logsOf(t, c, sleepID)
		waitChildren(t, c, parentID, "the parent starts its child flow", func(kids []execution) bool { return len(kids) > 0 })
		k.p.kill9(t)

		k.start(t)
		c = k.c
		waitStatus(t, c, askID, "WAITING")
		c.must(t, "POST", "/api/v1/executions/"+askID+"/messages", map[string]any{"answer": map[string]any{"ok": true}}, nil, 202)

		e := waitEnded(t, c, sleepID, 60*time.Second)
		if e.Status != "ENDED_SUCCESS" || e.Outputs["slept"] != float64(4000) {
			t.Fatalf("sleeper ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
		}
		if len(before) != 1 || before[0].Message != fmt.Sprintf("before %s %s", e.Outputs["t0"], e.Outputs["r0"]) {
			t.Fatalf("Date.now()/Math.random() changed across the crash: %+v vs %v", before, e.Outputs)
		}
		if lines := logsOf(t, c, sleepID); len(lines) != 1 {
			t.Fatalf("sleeper log lines after restart: %+v", lines)
		}
		if e := waitEnded(t, c, askID, 60*time.Second); e.Status != "ENDED_SUCCESS" || e.Outputs["ok"] != true {
			t.Fatalf("asker ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
		}
		if e := waitEnded(t, c, parentID, 60*time.Second); e.Status != "ENDED_SUCCESS" || e.Outputs["got"] != true {
			t.Fatalf("parent ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
		}
		if kids := childrenOf(t, c, parentID); len(kids) != 1 || kids[0].Status != "ENDED_SUCCESS" {
			t.Fatalf("parent's children after restart: %+v", kids)
		}
		for _, id := range editedIDs {
			e := waitEnded(t, c, id, 60*time.Second)
			if e.Status != "ENDED_SUCCESS" || e.Outputs["revision"] != float64(1) || e.FlowRevision != 1 {
				t.Fatalf("an execution of the edited flow ended %s %q %v (revision %d)", e.Status, e.StatusMessage, e.Outputs, e.FlowRevision)
			}
		}
	})
}
