package engine

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
)

type testsuiteEnv = testsuite.TestWorkflowEnvironment

// This file tests replays against recorded responses (engine/replay.go);
// replay_test.go replays recorded Temporal histories.

// replayStore is memStore with children, ordered as the store orders them.
type replayStore struct{ memStore }

func (m *replayStore) Children(_ context.Context, id string) ([]Execution, error) {
	var out []Execution
	for _, e := range m.execs {
		if e.ParentID != nil && *e.ParentID == id {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b Execution) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// countingConnector fails the test when it is called.
type countingConnector struct{ calls int }

func (c *countingConnector) Call(context.Context, map[string]any) (map[string]any, error) {
	c.calls++
	return map[string]any{}, nil
}

// recordedRun is an ended execution "src" with connections at places 1 and 3 (place 2
// was a refused call) and a child flow at place 4.
func recordedRun() *replayStore {
	src := "src"
	conn := func(n int, url, status, msg string) Execution {
		in, _ := json.Marshal(map[string]any{"connector_type": "REST", "url": url})
		out, _ := json.Marshal(map[string]any{"execution_id": childID(src, n), "status_code": 200, "json": map[string]any{"url": url}})
		return Execution{ID: childID(src, n), Type: TypeConnection, Name: "REST", Status: Status(status), StatusMessage: msg, ParentID: &src,
			RootID: src, Inputs: in, Outputs: out}
	}
	st := &replayStore{memStore{execs: map[string]Execution{
		src:             {ID: src, Type: TypeFlow, Name: "f", Status: StatusEndedSuccess, RootID: src},
		childID(src, 1): conn(1, "http://a/1", string(StatusEndedSuccess), ""),
		childID(src, 3): conn(3, "http://a/3", string(StatusEndedError), "HTTP 500 from http://a/3"),
		childID(src, 4): {ID: childID(src, 4), Type: TypeFlow, Name: "kid", Status: StatusEndedSuccess, ParentID: &src, RootID: src},
	}}}
	return st
}

func TestReplayPlanOrdersByPlace(t *testing.T) {
	a := &Activities{Store: recordedRun()}
	plan, err := a.ReplayPlan(context.Background(), "src")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Connects, []int{1, 3}) || len(plan.Flows) != 1 || plan.Flows[0] != (ReplayFlowStep{N: 4, Name: "kid"}) {
		t.Fatalf("plan: %+v", plan)
	}
	if _, err := a.ReplayPlan(context.Background(), "nope"); err == nil || !strings.Contains(err.Error(), "no longer exists") {
		t.Fatalf("plan of a missing execution: %v", err)
	}
}

func TestReplayConnect(t *testing.T) {
	st := recordedRun()
	rest := &countingConnector{}
	a := &Activities{Store: st, Connectors: map[string]Connector{"REST": rest}}
	ctx := context.Background()
	call := func(n int, recorded, url string) ReplayConnectResult {
		t.Helper()
		in := ReplayConnectInput{ConnectInput: ConnectInput{ParentID: "rep", RootID: "rep", ChildID: childID("rep", n),
			Inputs: map[string]any{"connector_type": "REST", "url": url}}, Recorded: recorded, N: n, Made: 2}
		res, err := a.ReplayConnect(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	t.Run("OK", func(t *testing.T) {
		res := call(1, childID("src", 1), "http://a/1")
		if res.Diverged != "" || res.Status != StatusEndedSuccess || res.Outputs["execution_id"] != childID("rep", 1) || res.Outputs["status_code"] != float64(200) {
			t.Fatalf("got %+v", res)
		}
		row := st.execs[childID("rep", 1)]
		if row.ReplayOf == nil || *row.ReplayOf != childID("src", 1) || row.Status != StatusEndedSuccess || row.ParentID == nil || *row.ParentID != "rep" {
			t.Fatalf("replayed row: %+v", row)
		}
	})
	t.Run("RecordedFailure", func(t *testing.T) {
		res := call(2, childID("src", 3), "http://a/3")
		if res.Diverged != "" || res.Status != StatusEndedError || res.Message != "HTTP 500 from http://a/3" {
			t.Fatalf("got %+v", res)
		}
	})
	t.Run("ErrDiverged", func(t *testing.T) {
		res := call(2, childID("src", 3), "http://a/other")
		want := `replay diverged at connect #2: recorded REST {"connector_type":"REST","url":"http://a/3"}, requested REST {"connector_type":"REST","url":"http://a/other"}; they differ in url`
		if res.Diverged != want {
			t.Fatalf("got %q\nwant %q", res.Diverged, want)
		}
		if _, ok := st.execs[childID("rep", 2)]; ok && st.execs[childID("rep", 2)].Inputs != nil && strings.Contains(string(st.execs[childID("rep", 2)].Inputs), "other") {
			t.Fatal("a diverged connect was recorded")
		}
	})
	t.Run("ErrMoreThanRecorded", func(t *testing.T) {
		res := call(3, "", "http://a/4")
		if !strings.HasPrefix(res.Diverged, "replay diverged at connect #3: recorded nothing (the original execution made 2 connects), requested REST") {
			t.Fatalf("got %q", res.Diverged)
		}
	})
	t.Run("ErrUnknownType", func(t *testing.T) {
		in := ReplayConnectInput{ConnectInput: ConnectInput{ParentID: "rep", ChildID: childID("rep", 9), Inputs: map[string]any{"connector_type": "FTP"}}, Recorded: childID("src", 1), N: 1}
		res, err := a.ReplayConnect(ctx, in)
		if err != nil || !strings.Contains(res.InputError, `unknown connector_type "FTP"`) || res.Diverged != "" {
			t.Fatalf("got %+v, %v", res, err)
		}
	})
	if rest.calls != 0 {
		t.Fatalf("the connector was called %d times during replays", rest.calls)
	}
}

func TestDifferingKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b map[string]any
		want []string
	}{
		{"Same", map[string]any{"n": 1, "m": map[string]any{"x": []any{1, "a"}}}, map[string]any{"n": float64(1), "m": map[string]any{"x": []any{float64(1), "a"}}}, nil},
		{"Changed", map[string]any{"url": "a", "n": 1}, map[string]any{"url": "b", "n": 1}, []string{"url"}},
		{"AddedAndRemoved", map[string]any{"a": 1}, map[string]any{"b": 1}, []string{"a", "b"}},
		{"NullIsNotMissing", map[string]any{"a": nil}, map[string]any{}, []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := differingKeys(tc.a, tc.b); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestShownJSONIsBounded(t *testing.T) {
	s := shownJSON(map[string]any{"body": strings.Repeat("x", 5000)})
	if len(s) > maxReplayShown+40 || !strings.HasSuffix(s, "bytes in all)") {
		t.Fatalf("%d bytes: %s", len(s), s[len(s)-40:])
	}
}

// TestReplayWorkflow: in a replay the workflow answers connects with ReplayConnect
// (never Connect), messages with the recorded answers, sleeps at once, and ends
// ENDED_ERROR with the divergence even when the script catches it.
func TestReplayWorkflow(t *testing.T) {
	plan := ReplayPlan{Connects: []int{1, 2}, Answers: []*MessageAnswer{{ID: 1, Answer: "yes"}}}
	setup := func(diverge int) (*testsuiteEnv, *int) {
		env := newEnv(t)
		env.OnActivity(activityReplayPlan, mock.Anything, "src").Return(plan, nil)
		connects := 0
		env.OnActivity(activityReplayConnect, mock.Anything, mock.Anything).Return(func(_ context.Context, in ReplayConnectInput) (ReplayConnectResult, error) {
			connects++
			if in.N == diverge {
				return ReplayConnectResult{Diverged: "replay diverged at connect #2: test"}, nil
			}
			return ReplayConnectResult{ConnectResult: ConnectResult{Name: "REST", Status: StatusEndedSuccess, Outputs: map[string]any{"n": float64(in.N)}}}, nil
		})
		return env, &connects
	}
	script := `function handler() {
  const a = this.connect({connector_type: 'REST', url: 'http://a/1'});
  let b = null;
  try { b = this.connect({connector_type: 'REST', url: 'http://a/2'}).get('output_value').n; } catch (e) { b = e.message; }
  const t0 = Date.now();
  this.sleep(3600);
  return {a: a.get('output_value').n, b: b, slept: Date.now() - t0, answer: this.message({subject: 'ok?'})};
}`
	run := func(env *testsuiteEnv) FlowResult {
		env.ExecuteWorkflow(WorkflowName, FlowInput{ExecutionID: "rep", RootID: "rep", Flow: "t", Revision: 1, Script: script, Trigger: TriggerReplay, ReplayOf: "src"})
		var res FlowResult
		if err := env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}

	t.Run("OK", func(t *testing.T) {
		env, connects := setup(0)
		res := run(env)
		if res.Status != StatusEndedSuccess || res.Outputs["a"] != float64(1) || res.Outputs["b"] != float64(2) || res.Outputs["answer"] != "yes" ||
			res.Outputs["slept"] != float64(3600000) || res.Diverged || *connects != 2 {
			t.Fatalf("got %+v after %d connects", res, *connects)
		}
	})
	t.Run("ErrDivergedCaught", func(t *testing.T) {
		env, _ := setup(2)
		res := run(env)
		if res.Status != StatusEndedError || res.Message != "replay diverged at connect #2: test" || !res.Diverged {
			t.Fatalf("got %+v", res)
		}
	})
}
