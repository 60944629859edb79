package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// taskEnv is a workflow test environment whose connections answer at once and whose
// activities are recorded.
type taskEnv struct {
	*testsuite.TestWorkflowEnvironment
	mu       sync.Mutex
	connects []ConnectInput
	flushes  int
	finish   FinishInput
}

func newTaskEnv(t *testing.T, connect func(ConnectInput) ConnectResult) *taskEnv {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	e := &taskEnv{TestWorkflowEnvironment: s.NewTestWorkflowEnvironment()}
	Register(e, &Activities{}, InProcess{})
	for _, name := range []string{activityBegin, activitySetStatus} {
		e.OnActivity(name, mock.Anything, mock.Anything).Return(nil).Maybe()
	}
	e.OnActivity(activityFlushLog, mock.Anything, mock.Anything).Return(func(context.Context, []LogLine) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.flushes++
		return nil
	}).Maybe()
	e.OnActivity(activityFinish, mock.Anything, mock.Anything).Return(func(_ context.Context, in FinishInput) error {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.finish = in
		return nil
	}).Maybe()
	e.OnActivity(activityConnect, mock.Anything, mock.Anything).Return(func(_ context.Context, in ConnectInput) (ConnectResult, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.connects = append(e.connects, in)
		return connect(in), nil
	}).Maybe()
	return e
}

func okResult(ConnectInput) ConnectResult {
	return ConnectResult{Name: "REST", Status: StatusEndedSuccess, Inputs: map[string]any{}, Outputs: map[string]any{"status_code": 200}}
}

// callUntilRefused makes calls until one is refused; it returns how many passed and
// the error of the refused one.
const callUntilRefused = `function handler(system, inputs) {
  let n = 0;
  for (; n < 100; n++) {
    try { this.connect({connector_type: 'REST', url: 'http://example.test/'}); }
    catch (e) { return {n: n, error: String(e)}; }
  }
  return {n: n, error: 'none refused'};
}`

func TestTasksHistoryLimit(t *testing.T) {
	t.Run("EventsOfTheCurrentTaskCount", func(t *testing.T) {
		// Recorded events are only counted at the start of a task: the calls made
		// since must count too, or the guard never fires in one long task.
		env := newTaskEnv(t, okResult)
		env.SetCurrentHistoryLength(DefaultMaxHistory - 10)
		res := runScript(t, env.TestWorkflowEnvironment, callUntilRefused)
		if res.Outputs["n"] != float64(10) {
			t.Fatalf("%v calls passed, want 10: %v", res.Outputs["n"], res.Outputs["error"])
		}
		msg, _ := res.Outputs["error"].(string)
		for _, want := range []string{"this.connect", "40000 events", "51200", "child flows (this.flow)"} {
			if !strings.Contains(msg, want) {
				t.Errorf("the error %q does not say %q", msg, want)
			}
		}
	})
	t.Run("Bytes", func(t *testing.T) {
		env := newTaskEnv(t, okResult)
		env.SetCurrentHistorySize(DefaultMaxHistoryBytes - 2000)
		res := runScript(t, env.TestWorkflowEnvironment, callUntilRefused)
		msg, _ := res.Outputs["error"].(string)
		if n := res.Outputs["n"].(float64); n < 1 || n > 6 {
			t.Errorf("%v calls passed, want a few (~300 bytes each)", n)
		}
		for _, want := range []string{"40.0 MB", "50 MB", "child flows", "dst"} {
			if !strings.Contains(msg, want) {
				t.Errorf("the error %q does not say %q", msg, want)
			}
		}
	})
	t.Run("EveryLaterCallIsRefused", func(t *testing.T) {
		env := newTaskEnv(t, okResult)
		env.SetCurrentHistoryLength(DefaultMaxHistory)
		res := runScript(t, env.TestWorkflowEnvironment, `function handler(system) {
  const calls = {
    connect: () => this.connect({connector_type: 'REST', url: 'http://example.test/'}),
    flow: () => this.flow('other', {}),
    sleep: () => this.sleep(1),
    message: () => this.message({subject: 'go on?', timeout: 60}),
    setting: () => system.setting('s').get('value'),
    file: () => system.file('f').get_text_content(),
  };
  const out = {};
  for (const k in calls) {
    try { calls[k](); out[k] = 'passed'; } catch (e) { out[k] = String(e); }
  }
  return out;
}`)
		if len(res.Outputs) != 6 {
			t.Fatalf("got %v", res.Outputs)
		}
		for k, v := range res.Outputs {
			if s, _ := v.(string); !strings.Contains(s, "at flowd's limit") {
				t.Errorf("%s: %v, want it refused for the history's limit", k, v)
			}
		}
	})
	t.Run("LogLinesDroppedFarPastTheLimit", func(t *testing.T) {
		env := newTaskEnv(t, okResult)
		env.SetCurrentHistoryLength(temporalMaxEvents - 1000)
		res := runScript(t, env.TestWorkflowEnvironment, `function handler() { for (let i = 0; i < 5000; i++) this.log('line', i); this.log('last'); }`)
		if res.Status != StatusEndedSuccess {
			t.Fatalf("got %+v", res)
		}
		if env.flushes != 0 {
			t.Errorf("%d log flushes past the limit, want none", env.flushes)
		}
		logs := env.finish.Logs
		if len(logs) == 0 || len(logs) > logFlushLines || !strings.Contains(logs[0].Message, "log lines were dropped") || logs[len(logs)-1].Message != "last" {
			t.Fatalf("the last %d lines do not start with a notice of the dropped ones and end with the last line: %+v", len(logs), logs[:min(2, len(logs))])
		}
		var dropped int
		fmt.Sscan(logs[0].Message, &dropped)
		if got := dropped + len(logs) - 1; got != 5001 {
			t.Errorf("%d lines dropped and %d kept: %d lines in all, want 5001", dropped, len(logs)-1, got)
		}
	})
	t.Run("LogLinesKeptJustPastTheLimit", func(t *testing.T) {
		// The lines that explain a refused call are written.
		env := newTaskEnv(t, okResult)
		env.SetCurrentHistoryLength(DefaultMaxHistory)
		runScript(t, env.TestWorkflowEnvironment, `function handler() { for (let i = 0; i < 5000; i++) this.log('line', i); }`)
		if env.flushes != 5 {
			t.Errorf("%d log flushes, want 5", env.flushes)
		}
	})
}

func TestTasksStaySmall(t *testing.T) {
	for _, tt := range []struct {
		name           string
		calls, body    int
		minTim, maxTim int
	}{
		{"ManySmallResults", 2500, 10, 2, 2},        // a new task every 1,000 calls
		{"FewerLargerResults", 100, 40 << 10, 3, 4}, // ~26 results of 40 KB a task
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Repeat("x", tt.body)
			env := newTaskEnv(t, func(ConnectInput) ConnectResult {
				return ConnectResult{Name: "REST", Status: StatusEndedSuccess, Outputs: map[string]any{"body": body}}
			})
			timers := 0
			env.SetOnTimerScheduledListener(func(_ string, d time.Duration) {
				if d == time.Millisecond {
					timers++
				}
			})
			res := runScript(t, env.TestWorkflowEnvironment, fmt.Sprintf(`function handler() {
  for (let i = 0; i < %d; i++) this.connect({connector_type: 'REST', url: 'http://example.test/'});
}`, tt.calls))
			if res.Status != StatusEndedSuccess || len(env.connects) != tt.calls {
				t.Fatalf("got %+v after %d calls", res, len(env.connects))
			}
			if timers < tt.minTim || timers > tt.maxTim {
				t.Errorf("%d new tasks started, want %d to %d", timers, tt.minTim, tt.maxTim)
			}
		})
	}
}

func TestTasksLargeResultIsReadBack(t *testing.T) {
	env := newTaskEnv(t, func(in ConnectInput) ConnectResult {
		if in.Fetch {
			return ConnectResult{Name: "stored", Status: StatusEndedError, Inputs: map[string]any{"url": "u"}, Outputs: map[string]any{"n": 7}}
		}
		return ConnectResult{Name: "REST", Status: StatusEndedSuccess, Message: "m", Stored: true, Size: 600 << 10}
	})
	res := runScript(t, env.TestWorkflowEnvironment, `function handler() {
  const c = this.connect({connector_type: 'REST', url: 'u'});
  return {n: c.get('output_value').n, url: c.get('input_value').url, status: c.get('status'), message: c.get('status_message')};
}`)
	want := map[string]any{"n": float64(7), "url": "u", "status": "ENDED_SUCCESS", "message": "m"}
	if fmt.Sprint(res.Outputs) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v (outputs and inputs read back, the rest as first recorded)", res.Outputs, want)
	}
	if len(env.connects) != 2 || env.connects[0].InlineBytes != maxInlineBytes || !env.connects[1].Fetch || env.connects[1].ChildID != env.connects[0].ChildID {
		t.Fatalf("calls %+v, want the call with InlineBytes %d and then a Fetch of its child", env.connects, maxInlineBytes)
	}
}

func TestTasksOldHistoriesKeepTheirWay(t *testing.T) {
	// An execution recorded before small tasks replays as it ran: no limits on the
	// result's size, no extra timers, the old history check.
	env := newTaskEnv(t, okResult)
	env.OnGetVersion(changeSmallTasks, workflow.DefaultVersion, smallTasksVersion).Return(workflow.DefaultVersion)
	env.SetCurrentHistoryLength(DefaultMaxHistory - 10)
	res := runScript(t, env.TestWorkflowEnvironment, `function handler() {
  for (let i = 0; i < 20; i++) this.connect({connector_type: 'REST', url: 'http://example.test/'});
  return {};
}`)
	if res.Status != StatusEndedSuccess || len(env.connects) != 20 || env.connects[0].InlineBytes != 0 {
		t.Fatalf("got %+v after %d calls (inline %d), want 20 calls as before", res, len(env.connects), env.connects[0].InlineBytes)
	}
}

func TestInline(t *testing.T) {
	res := ConnectResult{Name: "REST", Status: StatusEndedSuccess, Outputs: map[string]any{"body": strings.Repeat("x", 1000)}}
	for _, tt := range []struct {
		name   string
		limit  int
		stored bool
	}{{"NoLimit", 0, false}, {"Under", 2000, false}, {"Over", 500, true}} {
		t.Run(tt.name, func(t *testing.T) {
			got := inline(res, tt.limit)
			if got.Stored != tt.stored || (got.Outputs == nil) != tt.stored || got.Name != "REST" {
				t.Fatalf("got %+v", got)
			}
			if tt.stored && got.Size < 1000 {
				t.Errorf("size %d, want the whole result's", got.Size)
			}
		})
	}
}
