package engine

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// outputsEnv is a workflow test environment that records the outputs each status
// change and each connect hands to the store; connects whose URL is /fail fail.
func outputsEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *[]string, *[]string) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env, &Activities{}, InProcess{})
	for _, name := range []string{activityBegin, activityFinish, activityFlushLog} {
		env.OnActivity(name, mock.Anything, mock.Anything).Return(nil).Maybe()
	}
	var statuses, connects []string
	env.OnActivity(activitySetStatus, mock.Anything, mock.Anything).Return(func(_ context.Context, in SetStatusInput) error {
		statuses = append(statuses, string(in.Status)+" "+string(in.Outputs))
		return nil
	})
	env.OnActivity(activityConnect, mock.Anything, mock.Anything).Return(func(_ context.Context, in ConnectInput) (ConnectResult, error) {
		connects = append(connects, string(in.ParentOutputs))
		if in.Inputs["url"] == "/fail" {
			return ConnectResult{}, temporal.NewNonRetryableApplicationError("the store is down", "test", nil)
		}
		return ConnectResult{Status: StatusEndedSuccess, Outputs: map[string]any{}}, nil
	}).Maybe()
	return env, &statuses, &connects
}

// A waiting execution shows the outputs set so far, written once per change.
func TestOutputsWrittenAtWaits(t *testing.T) {
	env, statuses, _ := outputsEnv(t)
	res := runScript(t, env, `function handler() {
  this.set_output('stage', 'half');
  this.sleep(30);
  this.set_output('stage', 'half');
  this.sleep(30);
  this.set_output('stage', 'done');
  try { this.message({subject: 'ok?', timeout: 10}); } catch (e) {}
  return {stage: 'end'};
}`)
	if res.Status != StatusEndedSuccess {
		t.Fatalf("got %+v", res)
	}
	want := []string{`WAITING {"stage":"half"}`, "RUNNING ", "WAITING ", "RUNNING ", `WAITING {"stage":"done"}`, "RUNNING "}
	if !slices.Equal(*statuses, want) {
		t.Fatalf("outputs written with the status changes:\n got %q\nwant %q", *statuses, want)
	}
}

// Connects write the outputs when they changed, and again after a failed write.
func TestOutputsWrittenAtConnects(t *testing.T) {
	env, _, connects := outputsEnv(t)
	res := runScript(t, env, `function handler() {
  const c = (url) => this.connect({connector_type: 'REST', url: url});
  c('/a');
  this.set_output('n', 1);
  c('/b');
  c('/c');
  this.set_output('n', 2);
  try { c('/fail'); } catch (e) {}
  this.set_output('n', 2);
  c('/d');
  c('/e');
  return {};
}`)
	if res.Status != StatusEndedSuccess {
		t.Fatalf("got %+v", res)
	}
	// The failed connect's write may not have happened: /d writes again although
	// the outputs did not change.
	want := []string{"", `{"n":1}`, "", `{"n":2}`, `{"n":2}`, ""}
	if !slices.Equal(*connects, want) {
		t.Fatalf("outputs written with the connects:\n got %q\nwant %q", *connects, want)
	}
}
