package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSleepAndCancel: this.sleep is a durable timer (WAITING meanwhile, the clock moves
// by the sleep); cancel ends a sleeping flow ENDED_CANCELLED after its finally block.
func TestSleepAndCancel(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		short := unique("nap")
		pushFlow(t, b.api, short, `function handler() {
  const t0 = Date.now();
  this.sleep(1);
  return {slept_ms: Date.now() - t0};
}`)
		if e := runFlow(t, b.api, short, nil); e.Status != "ENDED_SUCCESS" || e.Outputs["slept_ms"] != float64(1000) {
			t.Fatalf("a 1 s sleep ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
		}
		bad := unique("badsleep")
		pushFlow(t, b.api, bad, "function handler() {\n  this.sleep('soon');\n}")
		if e := runFlow(t, b.api, bad, nil); e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "must be a number") || !strings.Contains(e.StatusMessage, ":2:") {
			t.Fatalf("this.sleep('soon') ended %s %q", e.Status, e.StatusMessage)
		}

		long := unique("longsleep")
		pushFlow(t, b.api, long, `function handler() {
  this.log('going to sleep');
  try {
    this.sleep(600);
  } finally {
    this.log('cleanup');
  }
}`)
		var e execution
		b.api.must(t, "POST", "/api/v1/flows/"+long+"/executions", map[string]any{}, &e, 201)
		waitStatus(t, b.api, e.ID, "WAITING")
		b.api.must(t, "POST", "/api/v1/executions/"+e.ID+"/cancel", nil, nil, 202)
		e = waitEnded(t, b.api, e.ID, 30*time.Second)
		if e.Status != "ENDED_CANCELLED" {
			t.Fatalf("cancelled flow ended %s %q", e.Status, e.StatusMessage)
		}
		lines := logsOf(t, b.api, e.ID)
		if len(lines) != 2 || lines[1].Message != "cleanup" {
			t.Fatalf("the finally block did not run: %+v", lines)
		}
		b.api.must(t, "POST", "/api/v1/executions/"+e.ID+"/cancel", nil, nil, 409)
		b.api.must(t, "POST", "/api/v1/executions/00000000-0000-0000-0000-000000000000/cancel", nil, nil, 404)
	})
}

// TestLiveLogs follows a flow's log as server-sent events: every line arrives once and
// in order, status changes arrive, and the stream ends with the execution.
func TestLiveLogs(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name := unique("chatty")
		pushFlow(t, b.api, name, `function handler() {
  for (let i = 1; i <= 1500; i++) this.log('line ' + i);
  this.sleep(1);
  for (let i = 1501; i <= 3000; i++) console.warn('line ' + i);
  return {n: 3000};
}`)
		var e execution
		b.api.must(t, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{}, &e, 201)

		req, _ := http.NewRequest("GET", b.app.URL+"/api/v1/executions/"+e.ID+"/logs", nil)
		req.Header.Set("Authorization", "Bearer "+b.api.token)
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
			t.Fatalf("Content-Type %q", ct)
		}
		var (
			next     int64 = 1
			statuses []string
			ended    bool
			event    string
			id       string
		)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for !ended && sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = line[7:]
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				data := line[6:]
				switch event {
				case "log":
					var l logLine
					if err := json.Unmarshal([]byte(data), &l); err != nil {
						t.Fatal(err)
					}
					if l.Seq != next || id != strconv.FormatInt(l.Seq, 10) || l.Message != "line "+strconv.FormatInt(l.Seq, 10) {
						t.Fatalf("log event id %s %+v, want seq %d", id, l, next)
					}
					next++
				case "status":
					var x execution
					json.Unmarshal([]byte(data), &x)
					statuses = append(statuses, x.Status)
				case "end":
					ended = true
				}
				event, id = "", ""
			}
		}
		if !ended || next != 3001 {
			t.Fatalf("stream ended=%v after %d lines (want 3000), err %v", ended, next-1, sc.Err())
		}
		joined := strings.Join(statuses, ",")
		if !strings.Contains(joined, "WAITING") || !strings.HasSuffix(joined, "ENDED_SUCCESS") {
			t.Fatalf("status events: %s", joined)
		}

		// Resuming with Last-Event-ID sends only the rest.
		req, _ = http.NewRequest("GET", b.app.URL+"/api/v1/executions/"+e.ID+"/logs", nil)
		req.Header.Set("Authorization", "Bearer "+b.api.token)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Last-Event-ID", "2990")
		resp2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp2.Body.Close()
		body := new(strings.Builder)
		sc = bufio.NewScanner(resp2.Body)
		for sc.Scan() {
			body.WriteString(sc.Text() + "\n")
		}
		if n := strings.Count(body.String(), "event: log"); n != 10 || !strings.Contains(body.String(), "event: end") {
			t.Fatalf("resumed stream has %d log events:\n%s", n, body)
		}
	})
}
