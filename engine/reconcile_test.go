package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeTemporal answers DescribeWorkflowExecution and the close event from a table;
// a workflow not in it is not found. Any other method panics (nil embedded client).
type fakeTemporal struct {
	client.Client
	wfs map[string]fakeWF
}

type fakeWF struct {
	status   enumspb.WorkflowExecutionStatus
	closedAt time.Time
	reason   string // of a termination
}

func (f *fakeTemporal) DescribeWorkflowExecution(_ context.Context, id, _ string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	w, ok := f.wfs[id]
	if !ok {
		return nil, serviceerror.NewNotFound("workflow not found")
	}
	info := &workflowpb.WorkflowExecutionInfo{Status: w.status}
	if !w.closedAt.IsZero() {
		info.CloseTime = timestamppb.New(w.closedAt)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: info}, nil
}

func (f *fakeTemporal) GetWorkflowHistory(_ context.Context, id, _ string, _ bool, _ enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	ev := &historypb.HistoryEvent{}
	if w := f.wfs[id]; w.status == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED {
		ev.Attributes = &historypb.HistoryEvent_WorkflowExecutionTerminatedEventAttributes{
			WorkflowExecutionTerminatedEventAttributes: &historypb.WorkflowExecutionTerminatedEventAttributes{Reason: w.reason, Identity: "ops@host"}}
	}
	return &oneEvent{ev: ev}
}

type oneEvent struct {
	ev   *historypb.HistoryEvent
	done bool
}

func (o *oneEvent) HasNext() bool { return !o.done }
func (o *oneEvent) Next() (*historypb.HistoryEvent, error) {
	o.done = true
	return o.ev, nil
}

// fakeRows is a ReconcileStore over a slice; ended rows are what EndExecution set.
type fakeRows struct {
	rows  []Execution
	ended map[string]string // id -> status: message
	taken map[string]bool   // rows another process ended first
}

func (s *fakeRows) UnendedExecutions(_ context.Context, before, _ time.Time, _ string, limit int) ([]Execution, error) {
	var out []Execution
	for _, r := range s.rows {
		if _, done := s.ended[r.ID]; !done && r.CreatedAt.Before(before) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *fakeRows) EndExecution(_ context.Context, id string, st Status, msg string, _ time.Time) (bool, error) {
	if s.taken[id] {
		return false, nil
	}
	s.ended[id] = string(st) + ": " + msg
	return true, nil
}

// TestReconcilerPass: one pass ends exactly the rows whose workflow Temporal reports
// closed, or missing past the grace, and leaves every row whose workflow may still
// run or start.
func TestReconcilerPass(t *testing.T) {
	now := time.Now()
	old, young := now.Add(-DefaultStartGrace-time.Minute), now.Add(-time.Minute)
	ptr := func(s string) *string { return &s }
	row := func(id string, typ ExecutionType, parent *string, created time.Time) Execution {
		root := id
		if parent != nil {
			root = *parent
		}
		return Execution{ID: id, Type: typ, Status: StatusRunning, ParentID: parent, RootID: root, CreatedAt: created}
	}
	tc := &fakeTemporal{wfs: map[string]fakeWF{
		"running":    {status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING},
		"terminated": {status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closedAt: now.Add(-time.Minute), reason: "bad deploy"},
		"timedout":   {status: enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, closedAt: now.Add(-time.Minute)},
		"cancelled":  {status: enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, closedAt: now.Add(-time.Minute)},
		"justclosed": {status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closedAt: now},
		"raced":      {status: enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, closedAt: now.Add(-time.Minute)},
	}}
	st := &fakeRows{ended: map[string]string{}, taken: map[string]bool{"raced": true}, rows: []Execution{
		row("running", TypeFlow, nil, old),
		row("terminated", TypeFlow, nil, young),
		row("timedout", TypeFlow, nil, young),
		row("cancelled", TypeFlow, nil, young),
		row("raced", TypeFlow, nil, young),
		row("conn-of-running", TypeConnection, ptr("running"), old),
		row("conn-of-terminated", TypeConnection, ptr("terminated"), young),
		row("child-of-running", TypeFlow, ptr("running"), old),
		row("child-of-terminated", TypeFlow, ptr("terminated"), young),
		row("child-of-justclosed", TypeFlow, ptr("justclosed"), young),
		row("lost-young", TypeFlow, nil, young),
		row("lost-old", TypeFlow, nil, old),
		row("new", TypeFlow, nil, now),
	}}
	var counted []Status
	r := &Reconciler{Store: st, Temporal: tc, Corrected: func(s Status) { counted = append(counted, s) }}
	n, err := r.Pass(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"terminated":          "ENDED_CANCELLED: terminated in Temporal by an operator (ops@host): bad deploy",
		"timedout":            "ENDED_ERROR: timed out",
		"cancelled":           "ENDED_CANCELLED: cancelled",
		"conn-of-terminated":  "ENDED_CANCELLED: its flow execution terminated ended (terminated in Temporal by an operator (ops@host): bad deploy)",
		"child-of-terminated": "ENDED_CANCELLED: the child flow never started: its parent flow execution terminated ended first",
		"lost-old":            "ENDED_ERROR: the execution never started",
	}
	for id, prefix := range want {
		if got, ok := st.ended[id]; !ok || !strings.HasPrefix(got, prefix) {
			t.Errorf("%s: got %q, want it to start with %q", id, got, prefix)
		}
	}
	for id, got := range st.ended {
		if _, ok := want[id]; !ok {
			t.Errorf("%s was ended (%q), want it left open", id, got)
		}
	}
	if n != len(want) || len(counted) != len(want) {
		t.Errorf("the pass reports %d ended and counted %d, want %d (a row another process ended first is not counted)", n, len(counted), len(want))
	}
}
