package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
)

// newEnv returns a workflow test environment with flowd's workflow and stub
// activities: the store is out of the picture, timers are skipped.
func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env, &Activities{}, InProcess{})
	for _, name := range []string{activityBegin, activityFinish, activityFlushLog, activitySetStatus} {
		env.OnActivity(name, mock.Anything, mock.Anything).Return(nil).Maybe()
	}
	return env
}

func runScript(t *testing.T, env *testsuite.TestWorkflowEnvironment, script string) FlowResult {
	t.Helper()
	env.ExecuteWorkflow(WorkflowName, FlowInput{ExecutionID: "e1", RootID: "e1", Flow: "t", Revision: 1, Script: script})
	if !env.IsWorkflowCompleted() {
		t.Fatal("the workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow error: %v", err)
	}
	var res FlowResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestWorkflowSleepIsATimer(t *testing.T) {
	env := newEnv(t)
	res := runScript(t, env, `function handler() { const t0 = Date.now(); this.sleep(3600); return {ms: Date.now() - t0}; }`)
	if res.Status != StatusEndedSuccess || res.Outputs["ms"] != float64(3600000) {
		t.Fatalf("got %+v", res)
	}
}

func TestWorkflowMessageAnsweredBySignal(t *testing.T) {
	env := newEnv(t)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalMessage, MessageAnswer{ID: 1, Answer: map[string]any{"ok": true}, AnsweredAt: time.Now()})
	}, time.Minute)
	res := runScript(t, env, `function handler() { return this.message({subject: 'ok?', timeout: 3600}); }`)
	if res.Status != StatusEndedSuccess || res.Outputs["ok"] != true {
		t.Fatalf("got %+v", res)
	}
}

func TestWorkflowMessageTimesOut(t *testing.T) {
	env := newEnv(t)
	res := runScript(t, env, `function handler() { try { this.message({subject: 'ok?', timeout: 60}); } catch (e) { return {name: e.name}; } }`)
	if res.Status != StatusEndedSuccess || res.Outputs["name"] != "TimeoutExceededError" {
		t.Fatalf("got %+v", res)
	}
}

func TestWorkflowStaleAnswerIsDropped(t *testing.T) {
	env := newEnv(t)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalMessage, MessageAnswer{ID: 7, Answer: "stale"})
	}, time.Minute)
	res := runScript(t, env, `function handler() { try { return {a: this.message({subject: 'ok?', timeout: 600})}; } catch (e) { return {name: e.name}; } }`)
	if res.Outputs["name"] != "TimeoutExceededError" {
		t.Fatalf("a stale answer was taken: %+v", res)
	}
}

func TestWorkflowUncaughtError(t *testing.T) {
	env := newEnv(t)
	res := runScript(t, env, "function handler() {\n  null.x;\n}")
	if res.Status != StatusEndedError || !strings.Contains(res.Message, "t.js:2:") {
		t.Fatalf("got %+v", res)
	}
}
