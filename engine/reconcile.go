package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// The reconciler keeps the executions table true to Temporal. A workflow records its
// own end (Finish), but some ends happen where no flowd code runs: an operator
// terminates a workflow from the Temporal CLI or UI, a timeout set in Temporal fires,
// a workflow is cancelled before its first step, a start fails after its row was
// written and flowd stops before it can say so. The reconciler finds the rows that are
// not ended while Temporal says their workflow is closed (or never existed), and ends
// them with a status message that says why.
//
// Every process with a store may run it at once: it changes a row only when Temporal
// reports the workflow closed or missing, and only while the row is still open (a
// conditional update), so that racing processes, and the workflow's own Finish, end a
// row once.

// ReconcileStore is what the reconciler reads and writes; store.Store implements it.
type ReconcileStore interface {
	// UnendedExecutions returns up to limit open executions created before before,
	// in (created_at, id) order after the cursor (afterAt, afterID).
	UnendedExecutions(ctx context.Context, before, afterAt time.Time, afterID string, limit int) ([]Execution, error)
	// EndExecution ends an open execution and reports whether it changed it.
	EndExecution(ctx context.Context, id string, status Status, message string, at time.Time) (bool, error)
}

// Defaults of a Reconciler's zero fields.
const (
	DefaultReconcileInterval = 3 * time.Second
	DefaultReconcileMinAge   = 2 * time.Second
	DefaultStartGrace        = 5 * time.Minute
	DefaultReconcileBatch    = 500
	// childStartSettle is how long after its parent closed a child flow that has no
	// workflow may still be being started by Temporal.
	childStartSettle = 5 * time.Second
)

// Reconciler ends the execution rows whose Temporal workflow has closed, or never
// started, without recording the end. Run it with Run.
type Reconciler struct {
	Store    ReconcileStore
	Temporal client.Client
	Log      *slog.Logger
	// Interval is the time between passes (0: DefaultReconcileInterval).
	Interval time.Duration
	// MinAge skips rows younger than this (0: DefaultReconcileMinAge).
	MinAge time.Duration
	// StartGrace is how long a root execution, or a connection, may exist with no
	// workflow in Temporal before it is ended as never started (0:
	// DefaultStartGrace). It must be far longer than a start can take.
	StartGrace time.Duration
	// Batch bounds the rows looked at in one pass (0: DefaultReconcileBatch); more
	// open rows are looked at over the following passes, in turn.
	Batch int
	// Corrected, when set, is told of each row the reconciler ended (for metrics).
	Corrected func(status Status)
	// Ended, when set, is told the id of each row the reconciler ended (Engine.Ended
	// wakes the requests that wait for it).
	Ended func(id string)

	// The cursor of the next pass: rows after it are looked at first.
	afterAt time.Time
	afterID string
}

// Run reconciles at once (what happened while flowd was down) and then every
// Interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context) {
	interval := r.Interval
	if interval <= 0 {
		interval = DefaultReconcileInterval
	}
	for {
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.log().Warn("reconcile executions with Temporal", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Pass looks at one batch of open executions and ends those whose workflow is closed
// or missing. It returns how many it ended, and an error when the store cannot be
// read (a row whose workflow Temporal cannot describe now is left for a later pass).
func (r *Reconciler) Pass(ctx context.Context) (int, error) {
	batch := r.Batch
	if batch <= 0 {
		batch = DefaultReconcileBatch
	}
	minAge := r.MinAge
	if minAge <= 0 {
		minAge = DefaultReconcileMinAge
	}
	rows, err := r.Store.UnendedExecutions(ctx, time.Now().Add(-minAge), r.afterAt, r.afterID, batch)
	if err != nil {
		return 0, err
	}
	if len(rows) < batch {
		r.afterAt, r.afterID = time.Time{}, "" // the next pass starts again from the oldest
	} else {
		last := rows[len(rows)-1]
		r.afterAt, r.afterID = last.CreatedAt, last.ID
	}
	seen := map[string]*workflowState{}
	ended := 0
	for _, row := range rows {
		status, msg, ok := r.verdict(ctx, row, seen)
		if !ok {
			continue
		}
		changed, err := r.Store.EndExecution(ctx, row.ID, status, msg, time.Now().UTC())
		if err != nil {
			return ended, err
		}
		if !changed {
			continue // it ended meanwhile: its workflow or another process was first
		}
		ended++
		r.log().Info("execution reconciled with Temporal", "execution", row.ID, "type", row.Type, "was", row.Status, "status", status, "message", msg)
		if r.Corrected != nil {
			r.Corrected(status)
		}
		if r.Ended != nil {
			r.Ended(row.ID)
		}
	}
	return ended, nil
}

func (r *Reconciler) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}

// workflowState is what Temporal says of one workflow.
type workflowState struct {
	err      error // Temporal could not be asked: decide nothing
	found    bool
	open     bool
	status   enumspb.WorkflowExecutionStatus
	closedAt time.Time
	why      string      // how it closed, for status messages
	result   *FlowResult // the result of a completed workflow
}

// cancelled reports whether the workflow was stopped on purpose (cancelled or
// terminated), as opposed to failing or timing out.
func (w *workflowState) cancelled() bool {
	return w.status == enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED || w.status == enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED
}

// verdict decides how an open row ends, or ok false to leave it as it is.
func (r *Reconciler) verdict(ctx context.Context, row Execution, seen map[string]*workflowState) (status Status, msg string, ok bool) {
	grace := r.StartGrace
	if grace <= 0 {
		grace = DefaultStartGrace
	}
	old := time.Since(row.CreatedAt) > grace
	parentID := row.RootID
	if row.ParentID != nil {
		parentID = *row.ParentID
	}
	if row.Type == TypeConnection {
		// A connection runs inside its flow's workflow (a local activity): it ends
		// when that workflow ends.
		p := r.describe(ctx, parentID, seen)
		switch {
		case p.err != nil || (p.found && p.open):
			return "", "", false
		case !p.found && !old:
			return "", "", false
		case !p.found:
			return StatusEndedError, fmt.Sprintf("its flow execution %s no longer exists in Temporal, so the call's end was never recorded; the call may or may not have reached its target", parentID), true
		}
		st := StatusEndedError
		if p.cancelled() {
			st = StatusEndedCancelled
		}
		return st, fmt.Sprintf("its flow execution %s ended (%s) while the call ran, so the call's end was never recorded; the call may or may not have reached its target", parentID, p.why), true
	}

	w := r.describe(ctx, row.ID, seen)
	switch {
	case w.err != nil || (w.found && w.open):
		return "", "", false
	case w.found:
		return closedVerdict(row, w)
	}
	// No workflow: it never started, or Temporal no longer keeps it.
	if row.ParentID != nil {
		p := r.describe(ctx, parentID, seen)
		switch {
		case p.err != nil || (p.found && p.open):
			return "", "", false // the parent may still start it
		case p.found && time.Since(p.closedAt) > childStartSettle:
			st := StatusEndedError
			if p.cancelled() {
				st = StatusEndedCancelled
			}
			return st, fmt.Sprintf("the child flow never started: its parent flow execution %s ended first (%s)", parentID, p.why), true
		case !p.found && old:
			return StatusEndedError, fmt.Sprintf("the child flow never started, and its parent flow execution %s no longer exists in Temporal", parentID), true
		}
		return "", "", false
	}
	if !old {
		return "", "", false // its start may still be under way
	}
	return StatusEndedError, "the execution never started: Temporal has no workflow for it (the start failed after the execution was recorded — flowd stopped, or Temporal or the database failed at that moment — or Temporal no longer keeps its history); start the flow again", true
}

// closedVerdict is how a flow execution whose own workflow closed ends.
func closedVerdict(row Execution, w *workflowState) (Status, string, bool) {
	withParent := ""
	if row.ParentID != nil {
		withParent = " (its parent flow execution " + *row.ParentID + " may have been stopped)"
	}
	switch w.status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		if w.result != nil && w.result.Status.Ended() {
			return w.result.Status, w.result.Message, true
		}
		return StatusEndedError, "its workflow completed in Temporal without recording how the flow ended", true
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return StatusEndedCancelled, w.why + withParent, true
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return StatusEndedCancelled, w.why + "; the script's finally blocks did not run", true
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return StatusEndedError, w.why + "; limit a flow's runtime with its max_runtime instead, which lets the script's finally blocks run", true
	}
	return StatusEndedError, w.why, true
}

// describe asks Temporal about a workflow once per pass.
func (r *Reconciler) describe(ctx context.Context, id string, seen map[string]*workflowState) *workflowState {
	if w, ok := seen[id]; ok {
		return w
	}
	w := r.ask(ctx, id)
	seen[id] = w
	if w.err != nil {
		r.log().Warn("reconcile: ask Temporal about a workflow", "workflow", id, "error", w.err)
	}
	return w
}

func (r *Reconciler) ask(ctx context.Context, id string) *workflowState {
	d, err := r.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return &workflowState{}
	case err != nil:
		return &workflowState{err: err}
	}
	info := d.GetWorkflowExecutionInfo()
	w := &workflowState{found: true, status: info.GetStatus()}
	if w.status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING || w.status == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
		w.open = true
		return w
	}
	if info.GetCloseTime() != nil {
		w.closedAt = info.GetCloseTime().AsTime()
	}
	runID := info.GetExecution().GetRunId()
	if w.status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		var res FlowResult
		if err := r.Temporal.GetWorkflow(ctx, id, runID).Get(ctx, &res); err == nil {
			w.result = &res
		}
		w.why = "its workflow completed"
		return w
	}
	ev, err := closeEvent(ctx, r.Temporal, id, runID)
	if err != nil {
		return &workflowState{err: err}
	}
	w.why = closeReason(w.status, ev)
	return w
}

// closeEvent returns the event that closed a workflow run (nil when the history has
// none, which Temporal does not do for a closed run).
func closeEvent(ctx context.Context, c client.Client, id, runID string) (*historypb.HistoryEvent, error) {
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	var last *historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		last = ev
	}
	return last, nil
}

// closeReason says, for a status message, why Temporal closed a workflow.
func closeReason(status enumspb.WorkflowExecutionStatus, ev *historypb.HistoryEvent) string {
	switch status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		a := ev.GetWorkflowExecutionTerminatedEventAttributes()
		reason := a.GetReason()
		if reason == "" {
			reason = "no reason given"
		}
		if id := a.GetIdentity(); id != "" {
			return fmt.Sprintf("terminated in Temporal by an operator (%s): %s", id, reason)
		}
		return "terminated in Temporal by an operator: " + reason
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return "cancelled: its workflow was cancelled in Temporal before it recorded its end"
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return "timed out: its workflow reached a run or execution timeout set in Temporal"
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		if f := ev.GetWorkflowExecutionFailedEventAttributes().GetFailure(); f != nil {
			return "its workflow failed in Temporal: " + f.GetMessage()
		}
		return "its workflow failed in Temporal"
	}
	return "its workflow closed in Temporal (" + status.String() + ")"
}
