package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/proto"

	"github.com/flowd/flowd/engine"
)

// manyConnects is the flow of TestManyConnects: inputs.n sequential calls.
const manyConnects = `function handler(system, inputs) {
  let ok = 0;
  for (let i = 0; i < inputs.n; i++) {
    if (this.connect({connector_type: 'REST', url: inputs.url}).get('status') === 'ENDED_SUCCESS') ok++;
  }
  this.log('calls', ok);
  return {ok: ok};
}`

// TestManyConnects runs 20,000 connector calls in one execution: before the workflow
// tasks were kept small, ~7,100 of them in one task made a request over Temporal's
// 4 MB, and Temporal terminated the workflow while its row stayed RUNNING.
func TestManyConnects(t *testing.T) {
	const n = 20000
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"value": {"joke": "a short one"}}`)
	}))
	defer srv.Close()
	each(t, func(t *testing.T, b *backend) {
		name := unique("many_connects")
		pushFlow(t, b.api, name, manyConnects)
		var e execution
		b.api.must(t, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{"inputs": map[string]any{"n": n, "url": srv.URL}}, &e, 201)
		start := time.Now()

		ordinaryFlowRuns(t, b)

		e = waitEnded(t, b.api, e.ID, 5*time.Minute)
		t.Logf("%d connects took %v", n, time.Since(start).Round(time.Millisecond))
		if e.Status != "ENDED_SUCCESS" || e.Outputs["ok"] != float64(n) {
			t.Fatalf("ended %s (%q) with %v, want ENDED_SUCCESS with ok=%d", e.Status, e.StatusMessage, e.Outputs, n)
		}
		kids, err := b.app.Store.Children(context.Background(), e.ID)
		if err != nil {
			t.Fatal(err)
		}
		ended := 0
		for _, k := range kids {
			if k.Type == "CONNECTION" && k.Status == "ENDED_SUCCESS" {
				ended++
			}
		}
		if len(kids) != n || ended != n {
			t.Fatalf("%d children recorded, %d of them ended CONNECTIONs; want %d", len(kids), ended, n)
		}
		checkTasks(t, b, e.ID, 2<<20)
	})
}

// TestLargeResults calls APIs whose responses add up: in sequence (4 KB each, which
// without small tasks passes 4 MB in one task within seconds) and 20 at once (500 KB
// each). No workflow task may carry more than a few MB, and the execution must stop
// at the history's size limit with a message that says what to do, not be terminated.
func TestLargeResults(t *testing.T) {
	var sizes sync.Map // the path's body size
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.Header().Set("Content-Type", "application/json")
		body, ok := sizes.Load(n)
		if !ok {
			body, _ = sizes.LoadOrStore(n, `{"data": "`+strings.Repeat("x", n)+`"}`)
		}
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	each(t, func(t *testing.T, b *backend) {
		sequential := unique("results_in_sequence")
		pushFlow(t, b.api, sequential, `function handler(system, inputs) {
  let bytes = 0;
  for (let i = 0; i < inputs.n; i++) bytes += this.connect({connector_type: 'REST', url: inputs.url}).get('output_value').json.data.length;
  return {bytes: bytes};
}`)
		parallel := unique("results_at_once")
		pushFlow(t, b.api, parallel, `function handler(system, inputs) {
  const calls = [];
  for (let i = 0; i < inputs.n; i++) calls.push(this.connect({connector_type: 'REST', url: inputs.url, wait: false}));
  let bytes = 0;
  for (const c of calls) bytes += c.get('output_value').json.data.length;
  return {bytes: bytes};
}`)
		t.Run("InSequence", func(t *testing.T) {
			const n, size = 3000, 4 << 10
			var e execution
			b.api.must(t, "POST", "/api/v1/flows/"+sequential+"/executions", map[string]any{"inputs": map[string]any{"n": n, "url": fmt.Sprintf("%s/%d", srv.URL, size)}}, &e, 201)
			e = waitEnded(t, b.api, e.ID, 3*time.Minute)
			if e.Status != "ENDED_SUCCESS" || e.Outputs["bytes"] != float64(n*size) {
				t.Fatalf("ended %s (%q) with %v, want ENDED_SUCCESS with all the bytes", e.Status, e.StatusMessage, e.Outputs)
			}
			checkTasks(t, b, e.ID, 2<<20)
		})
		t.Run("AtOnce", func(t *testing.T) {
			// 20 results of 500 KB at once: 10 MB, all of it seen by the script.
			e := runFlow(t, b.api, parallel, map[string]any{"n": 20, "url": srv.URL + "/512000"})
			if e.Status != "ENDED_SUCCESS" || e.Outputs["bytes"] != float64(20*512000) {
				t.Fatalf("ended %s (%q) with %v, want ENDED_SUCCESS with all the bytes", e.Status, e.StatusMessage, e.Outputs)
			}
			checkTasks(t, b, e.ID, 2<<20)
		})
		t.Run("ErrHistorySize", func(t *testing.T) {
			// 200 results of 500 KB would be 100 MB, twice what Temporal allows.
			var e execution
			b.api.must(t, "POST", "/api/v1/flows/"+parallel+"/executions", map[string]any{"inputs": map[string]any{"n": 200, "url": srv.URL + "/512000"}}, &e, 201)
			ordinaryFlowRuns(t, b)
			e = waitEnded(t, b.api, e.ID, 3*time.Minute)
			if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "MB") || !strings.Contains(e.StatusMessage, "child flows") {
				t.Fatalf("ended %s (%q), want ENDED_ERROR saying the history's size limit and to use child flows", e.Status, e.StatusMessage)
			}
			size := checkTasks(t, b, e.ID, 2<<20)
			if size > 48<<20 {
				t.Fatalf("the history holds %d bytes, too close to Temporal's 50 MB", size)
			}
		})
	})
}

// TestHistoryEventLimit reads a setting in a loop past the history's event limit:
// the execution ends ENDED_ERROR with a message that names the limit, also when the
// script catches the error and tries again.
func TestHistoryEventLimit(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		name := unique("history_events")
		pushFlow(t, b.api, name, `function handler(system) {
  const s = system.setting('history_events_probe');
  let reads = 0, refused = 0, last = '';
  for (let i = 0; i < 60000; i++) {
    try { s.get('value'); reads++; } catch (e) { refused++; last = String(e); if (refused > 3) break; }
  }
  this.log('reads', reads, 'refused', refused);
  try { this.sleep(0.01); } catch (e) { this.log('sleep refused:', String(e)); }
  throw new Error(last);
}`)
		var e execution
		b.api.must(t, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{}, &e, 201)
		ordinaryFlowRuns(t, b)
		e = waitEnded(t, b.api, e.ID, 3*time.Minute)
		if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "events") || !strings.Contains(e.StatusMessage, "child flows") {
			t.Fatalf("ended %s (%q), want ENDED_ERROR saying the history's event limit and to use child flows", e.Status, e.StatusMessage)
		}
		n := len(historyOf(t, b, e.ID).Events)
		if n > 51200-1000 {
			t.Fatalf("the history has %d events, too close to Temporal's 51,200", n)
		}
		var lines []string
		for _, l := range logsOf(t, b.api, e.ID) {
			lines = append(lines, l.Message)
		}
		all := strings.Join(lines, "\n")
		if !strings.Contains(all, "refused 4") || !strings.Contains(all, "sleep refused:") || !strings.Contains(all, "child flows") {
			t.Fatalf("the logs do not show the reads refused 4 times and the sleep refused after them:\n%s", all)
		}
		checkTasks(t, b, e.ID, 2<<20)
	})
}

// ordinaryFlowRuns checks that a small flow runs to its end meanwhile.
func ordinaryFlowRuns(t *testing.T, b *backend) {
	t.Helper()
	name := unique("ordinary")
	pushFlow(t, b.api, name, `function handler(system, inputs) { this.log('hello'); return {n: inputs.n + 1}; }`)
	e := runFlow(t, b.api, name, map[string]any{"n": 41})
	if e.Status != "ENDED_SUCCESS" || e.Outputs["n"] != float64(42) {
		t.Fatalf("an ordinary flow ended %s (%q) with %v", e.Status, e.StatusMessage, e.Outputs)
	}
}

// historyOf reads an execution's workflow history from Temporal.
func historyOf(t *testing.T, b *backend, id string) *historypb.History {
	t.Helper()
	hist := &historypb.History{}
	it := b.app.Temporal.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	return hist
}

// checkTasks fails the test when a workflow task of the execution recorded more than
// limit bytes of events, or the history does not replay; it returns the history's size.
func checkTasks(t *testing.T, b *backend, id string, limit int) (size int) {
	t.Helper()
	hist := historyOf(t, b, id)
	largest, tasks, task := 0, 0, -1
	var completed time.Time
	var switches time.Duration // from each task's end to the next one's start
	for _, ev := range hist.Events {
		n := proto.Size(ev)
		size += n
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			task = n
			tasks++
			completed = ev.GetEventTime().AsTime()

		case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
			task = -1
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			task = -1
			if !completed.IsZero() {
				switches += ev.GetEventTime().AsTime().Sub(completed)
			}
		default:
			if task >= 0 {
				task += n
			}
		}
		largest = max(largest, task)
	}
	t.Logf("history: %d events, %d bytes, %d workflow tasks, the largest %d bytes; %v between tasks", len(hist.Events), size, tasks, largest, switches)
	if largest > limit {
		t.Errorf("a workflow task recorded %d bytes, over %d: it must stay far below Temporal's 4 MB", largest, limit)
	}
	if err := engine.NewReplayer().ReplayWorkflowHistory(nil, hist); err != nil {
		t.Errorf("the history does not replay: %v", err)
	}
	return size
}
