package engine

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// DefaultTaskQueue is the Temporal task queue flowd's workers poll.
const DefaultTaskQueue = "flowd"

// Engine starts flow executions on Temporal and reports on them.
type Engine struct {
	Store     Store
	Temporal  client.Client
	TaskQueue string
	Log       *slog.Logger
	// MaxParallel bounds the children one execution runs at once (0: DefaultMaxParallel).
	MaxParallel int
	// MaxHistory bounds an execution's history events (0: DefaultMaxHistory).
	MaxHistory int
	// MaxRuntime ends executions of flows without their own max_runtime that run
	// longer (0: no limit).
	MaxRuntime time.Duration
	// WorkersInProcess tells that this process runs workers too, which wake Wait at
	// once when an execution they run ends (Ended).
	WorkersInProcess bool
	// BaseURL is the API's public base URL, which scripts read as system.base_url
	// (empty in a worker-only process: child flows and scheduled runs carry their
	// starter's).
	BaseURL string

	mu      sync.Mutex
	waiters map[string][]chan struct{}
}

// StartFlow starts the latest revision of a flow with the given inputs and returns the
// PENDING execution; startedBy is recorded as its started_by ("client:<id>",
// "webhook:<name>", ...; "" records none). It returns ENotFound for an unknown flow
// and EUnavailable when Temporal cannot be reached (the execution is then recorded as
// ENDED_ERROR).
func (e *Engine) StartFlow(ctx context.Context, name string, inputs map[string]any, trigger Trigger, startedBy string) (Execution, error) {
	return e.start(ctx, pendingFlow{Flow: name, Inputs: inputs, Trigger: trigger, StartedBy: startedBy})
}

// start records a new root execution as p says (createPending, with a new id) and
// starts its workflow; see StartFlow for its errors. Inputs that do not fit the
// flow's inputs_schema are an EInvalidInputs error, and nothing is recorded.
func (e *Engine) start(ctx context.Context, p pendingFlow) (Execution, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Execution{}, err
	}
	p.ID, p.RootID, p.At = id.String(), id.String(), time.Now().UTC()
	run, err := createPending(ctx, e.Store, p)
	if err != nil {
		return Execution{}, err
	}
	exec := run.Execution
	in := FlowInput{ExecutionID: exec.ID, RootID: exec.ID, Flow: exec.Name, Revision: run.Revision, Script: run.Script, Inputs: run.Inputs, Trigger: p.Trigger, MaxParallel: e.MaxParallel, MaxHistory: e.MaxHistory,
		MaxRuntime: runtimeOf(run.MaxRuntime, e.MaxRuntime), ServerMaxRuntime: e.MaxRuntime, BaseURL: e.BaseURL}
	opts := client.StartWorkflowOptions{ID: exec.ID, TaskQueue: e.taskQueue(), EnableEagerStart: true}
	if _, err := e.Temporal.ExecuteWorkflow(ctx, opts, WorkflowName, in); err != nil {
		e.Log.Error("start workflow", "execution", exec.ID, "error", err)
		msg := "the engine could not start the execution (Temporal unreachable); try again"
		now := time.Now().UTC()
		// Should this write fail too, the reconciler ends the row later (engine/reconcile.go).
		_ = e.Store.Record(context.WithoutCancel(ctx), Progress{Updates: []ExecutionUpdate{{ID: exec.ID, Status: StatusEndedError, StatusMessage: &msg, EndedAt: &now}}})
		return Execution{}, Errorf(EUnavailable, "%s", msg)
	}
	return exec, nil
}

// pendingFlow is a FLOW execution to record PENDING before its workflow runs.
type pendingFlow struct {
	ID, RootID string
	ParentID   *string
	Flow       string
	Inputs     map[string]any
	Trigger    Trigger
	At         time.Time
	// ReplayOf is the recorded execution a replay's child flow replays.
	ReplayOf *string
	// Revision, when set, runs that revision instead of the latest (a re-run of the
	// same revision).
	Revision int
	// Draft, when set, runs an unsaved script; the execution records the latest
	// revision, which the draft was based on.
	Draft *Draft
	// RerunOf names the execution that this one runs again.
	RerunOf *string
	// StartedBy is who starts a root execution ("" for a child flow).
	StartedBy string
	// Audit, when set, is written in the transaction that records the execution.
	Audit *AuditEntry
}

// Draft is an unsaved script of a flow to run once (Engine.StartDraft).
type Draft struct {
	Script string
	// InputsSchema checks the inputs instead of the flow's own when set.
	InputsSchema json.RawMessage
}

// pendingRun is what createPending recorded: the execution, the revision it runs and
// its flow's own maximum runtime.
type pendingRun struct {
	Execution Execution
	Revision  int
	Script    string
	// Inputs are the inputs to run with: as given, with the defaults of the
	// inputs_schema applied; never nil.
	Inputs map[string]any
	// Checked tells that an inputs_schema checked (and maybe completed) Inputs.
	Checked bool
	// MaxRuntime is the flow's own maximum runtime in seconds (0: none set).
	MaxRuntime int
}

// createPending is the one place that records a PENDING FLOW execution: for
// Engine.StartFlow (API and webhook starts), drafts and re-runs (engine/runs.go),
// PrepareFlow (child flows) and BeginScheduled (runs of a Temporal Schedule). It
// records the flow's latest revision (or p.Revision), after checking the inputs
// against that revision's inputs_schema and applying its defaults. Run again with the same id (a retried activity), it records nothing and
// answers with the execution and revision recorded the first time, so that an
// execution never gets two rows or changes revision; the maximum runtime is then the
// flow's as it is now.
//
// It returns ENotFound when the flow (or revision) does not exist, EInvalidInputs
// when the inputs do not fit the inputs_schema, EInvalid when they cannot be stored,
// and the store's other errors. An execution that exists and has ended is
// returned with no error: the caller decides what that means.
func createPending(ctx context.Context, st Store, p pendingFlow) (pendingRun, error) {
	run := pendingRun{Inputs: p.Inputs}
	if run.Inputs == nil {
		run.Inputs = map[string]any{}
	}
	if prev, err := st.GetExecution(ctx, p.ID); err == nil {
		run.Execution = prev
		if prev.Status.Ended() {
			return run, nil
		}
		rev, err := st.GetFlowRevision(ctx, prev.Name, prev.FlowRevision)
		if err != nil {
			return pendingRun{}, err
		}
		run.Revision, run.Script = rev.Revision, rev.Script
		if p.Draft != nil {
			run.Script = p.Draft.Script
		}
		// The inputs recorded the first time, with their defaults.
		var recorded map[string]any
		if json.Unmarshal(prev.Inputs, &recorded) == nil && recorded != nil {
			run.Inputs = recorded
		}
		run.Checked = hasSchema(rev.InputsSchema) || (p.Draft != nil && hasSchema(p.Draft.InputsSchema))
		if flow, err := st.GetFlow(ctx, prev.Name); err == nil {
			run.MaxRuntime = flow.MaxRuntime
		} else if ErrorCode(err) != ENotFound {
			return pendingRun{}, err
		}
		return run, nil
	} else if ErrorCode(err) != ENotFound {
		return pendingRun{}, err
	}
	flow, err := st.GetFlow(ctx, p.Flow)
	if err != nil {
		return pendingRun{}, err
	}
	rev := FlowRevision{FlowName: flow.Name, Revision: flow.Revision, Script: flow.Script, InputsSchema: flow.InputsSchema}
	switch {
	case p.Draft != nil:
		rev.Script = p.Draft.Script
		if hasSchema(p.Draft.InputsSchema) {
			rev.InputsSchema = p.Draft.InputsSchema
		}
	case p.Revision > 0 && p.Revision != flow.Revision:
		if rev, err = st.GetFlowRevision(ctx, flow.Name, p.Revision); err != nil {
			return pendingRun{}, err
		}
	}
	if run.Inputs, err = CheckInputs(flow.Name, rev.InputsSchema, run.Inputs); err != nil {
		return pendingRun{}, err
	}
	run.Checked = hasSchema(rev.InputsSchema)
	raw, err := json.Marshal(run.Inputs)
	if err != nil {
		return pendingRun{}, Errorf(EInvalid, "inputs cannot be encoded as JSON: %v", err)
	}
	if len(raw) > MaxInputBytes {
		return pendingRun{}, Errorf(EInvalid, "the inputs are %d bytes as JSON, over the limit of %d: pass large data as a file (PUT /api/v1/files/{name}) and its name as an input", len(raw), MaxInputBytes)
	}
	run.Execution = Execution{ID: p.ID, Type: TypeFlow, Name: flow.Name, Status: StatusPending, ParentID: p.ParentID, RootID: p.RootID,
		FlowRevision: rev.Revision, Inputs: raw, Outputs: json.RawMessage("{}"), Trigger: p.Trigger, CreatedAt: p.At.UTC(), ReplayOf: p.ReplayOf, RerunOf: p.RerunOf,
		StartedBy: optional(p.StartedBy)}
	progress := Progress{Create: []Execution{run.Execution}}
	if p.Audit != nil {
		progress.Audit = []AuditEntry{*p.Audit}
	}
	if err := st.Record(ctx, progress); err != nil {
		return pendingRun{}, err
	}
	run.Revision, run.Script, run.MaxRuntime = rev.Revision, rev.Script, flow.MaxRuntime
	return run, nil
}

// waitLocalFirst is how long Wait in a process with workers waits for them to tell
// that an execution ended before it asks Temporal.
const waitLocalFirst = 200 * time.Millisecond

// Wait waits up to d for an execution to end and returns it as it is then, with ended
// telling whether it ended. It returns ENotFound for an unknown execution.
func (e *Engine) Wait(ctx context.Context, id string, d time.Duration) (exec Execution, ended bool, err error) {
	exec, err = e.Store.GetExecution(ctx, id)
	if err != nil || exec.Status.Ended() || d <= 0 {
		return exec, exec.Status.Ended(), err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	ch := e.subscribe(id)
	defer e.unsubscribe(id, ch)
	// Temporal's long poll on the workflow's result tells when it closes, and Finish
	// wrote the record before that. An API process without workers asks at once; one
	// with workers is told by them (Ended), and asks only when that does not happen
	// soon, for executions that run in another process's worker.
	done := make(chan struct{})
	longPoll := func() {
		defer close(done)
		e.awaitClosed(ctx, id)
	}
	var poll <-chan time.Time
	if e.WorkersInProcess {
		t := time.NewTimer(waitLocalFirst)
		defer t.Stop()
		poll = t.C
	} else {
		go longPoll()
	}
	select {
	case <-ch:
	case <-done:
	case <-ctx.Done():
	case <-poll:
		go longPoll()
		select {
		case <-ch:
		case <-done:
		case <-ctx.Done():
		}
	}
	exec, err = e.Store.GetExecution(context.WithoutCancel(ctx), id)
	return exec, exec.Status.Ended(), err
}

// awaitClosed returns when the workflow of execution id has closed, does not exist,
// or ctx ends. While Temporal cannot be reached it asks again every second, so that a
// wait spans an outage instead of ending early.
func (e *Engine) awaitClosed(ctx context.Context, id string) {
	for {
		err := e.Temporal.GetWorkflow(ctx, id, "").Get(ctx, nil)
		var closed *temporal.WorkflowExecutionError
		var notFound *serviceerror.NotFound
		if err == nil || errors.As(err, &closed) || errors.As(err, &notFound) || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Ended is called when an execution ends in this process; it wakes its waiters.
func (e *Engine) Ended(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ch := range e.waiters[id] {
		close(ch)
	}
	delete(e.waiters, id)
}

func (e *Engine) subscribe(id string) chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.waiters == nil {
		e.waiters = map[string][]chan struct{}{}
	}
	ch := make(chan struct{})
	e.waiters[id] = append(e.waiters[id], ch)
	return ch
}

func (e *Engine) unsubscribe(id string, ch chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := e.waiters[id]
	for i, c := range list {
		if c == ch {
			e.waiters[id] = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(e.waiters[id]) == 0 {
		delete(e.waiters, id)
	}
}

func (e *Engine) taskQueue() string {
	if e.TaskQueue == "" {
		return DefaultTaskQueue
	}
	return e.TaskQueue
}

// NewWorker returns a Temporal worker for flowd's task queue with the flow workflow and
// the activities registered.
func NewWorker(c client.Client, taskQueue string, acts *Activities, scripts ScriptRunner) worker.Worker {
	if taskQueue == "" {
		taskQueue = DefaultTaskQueue
	}
	// A script step is bounded by its CPU budget and the sandbox's 4 s wall limit
	// (sandbox.DefaultWallLimit); the deadlock detector (1 s by default) must not fire
	// first and fail the task forever.
	w := worker.New(c, taskQueue, worker.Options{DeadlockDetectionTimeout: 8 * time.Second,
		Interceptors: []interceptor.WorkerInterceptor{&holdInterceptor{}}})
	Register(w, acts, scripts)
	return w
}

// Register registers the workflow and activities on a worker.
func Register(w worker.Registry, acts *Activities, scripts ScriptRunner) {
	w.RegisterWorkflowWithOptions(FlowWorkflow(scripts), workflow.RegisterOptions{Name: WorkflowName})
	w.RegisterActivityWithOptions(acts.Begin, activity.RegisterOptions{Name: activityBegin})
	w.RegisterActivityWithOptions(acts.Connect, activity.RegisterOptions{Name: activityConnect})
	w.RegisterActivityWithOptions(acts.Finish, activity.RegisterOptions{Name: activityFinish})
	w.RegisterActivityWithOptions(acts.FlushLogs, activity.RegisterOptions{Name: activityFlushLog})
	w.RegisterActivityWithOptions(acts.SetStatus, activity.RegisterOptions{Name: activitySetStatus})
	w.RegisterActivityWithOptions(acts.BeginScheduled, activity.RegisterOptions{Name: activityBeginScheduled})
	w.RegisterActivityWithOptions(acts.PrepareFlow, activity.RegisterOptions{Name: activityPrepareFlow})
	w.RegisterActivityWithOptions(acts.GetSetting, activity.RegisterOptions{Name: activityGetSetting})
	w.RegisterActivityWithOptions(acts.SaveSetting, activity.RegisterOptions{Name: activitySaveSetting})
	w.RegisterActivityWithOptions(acts.GetFile, activity.RegisterOptions{Name: activityGetFile})
	w.RegisterActivityWithOptions(acts.SaveFile, activity.RegisterOptions{Name: activitySaveFile})
	w.RegisterActivityWithOptions(acts.ReplayPlan, activity.RegisterOptions{Name: activityReplayPlan})
	w.RegisterActivityWithOptions(acts.ReplayConnect, activity.RegisterOptions{Name: activityReplayConnect})
}

// NewReplayer returns a workflow replayer with the flow workflow registered, to check
// recorded histories against the current code (a determinism test).
func NewReplayer() worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(FlowWorkflow(InProcess{}), workflow.RegisterOptions{Name: WorkflowName})
	return r
}

// Cancel asks a running flow execution to stop. Its script sees a CancelledError (so
// finally blocks run), its running connections end with it, and it ends
// ENDED_CANCELLED. Cancelling an ended execution is a conflict.
func (e *Engine) Cancel(ctx context.Context, id string) (Execution, error) {
	exec, err := e.Store.GetExecution(ctx, id)
	if err != nil {
		return Execution{}, err
	}
	if exec.Status.Ended() {
		return exec, Errorf(EConflict, "execution %s has already ended (%s); there is nothing to cancel", id, exec.Status)
	}
	if exec.Type == TypeConnection {
		parent := exec.RootID
		if exec.ParentID != nil {
			parent = *exec.ParentID
		}
		return exec, Errorf(EInvalid, "execution %s is a connection, which is cancelled with its flow: cancel execution %s", id, parent)
	}
	if err := e.Temporal.CancelWorkflow(ctx, id, ""); err != nil {
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) {
			return exec, Errorf(EUnavailable, "the engine could not cancel execution %s (%v); try again", id, err)
		}
		// Temporal does not know it (it never started): end the record here.
		msg, now := "cancelled on request", time.Now().UTC()
		if err := e.Store.Record(ctx, Progress{Updates: []ExecutionUpdate{{ID: id, Status: StatusEndedCancelled, StatusMessage: &msg, EndedAt: &now}}}); err != nil {
			return exec, err
		}
		e.Ended(id)
	}
	return e.Store.GetExecution(ctx, id)
}

// Answer answers the pending this.message of a WAITING execution. It is a conflict
// when the execution is not waiting for an answer.
func (e *Engine) Answer(ctx context.Context, id string, answer any) (Execution, error) {
	exec, err := e.Store.GetExecution(ctx, id)
	if err != nil {
		return Execution{}, err
	}
	var msg PendingMessage
	if exec.Status != StatusWaiting || len(exec.Message) == 0 || json.Unmarshal(exec.Message, &msg) != nil || msg.ID == 0 {
		return exec, Errorf(EConflict, "execution %s is not waiting for an answer (it is %s); answer only while it shows a message", id, exec.Status)
	}
	a := MessageAnswer{ID: msg.ID, Answer: answer, AnsweredAt: time.Now().UTC()}
	if err := e.Temporal.SignalWorkflow(ctx, id, "", SignalMessage, a); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return exec, Errorf(EConflict, "execution %s is no longer running", id)
		}
		return exec, Errorf(EUnavailable, "the engine could not deliver the answer to execution %s (%v); try again", id, err)
	}
	return exec, nil
}

// runtimeOf is a flow's maximum runtime: its own (seconds) or the server's default.
func runtimeOf(flowSeconds int, server time.Duration) time.Duration {
	if flowSeconds > 0 {
		return time.Duration(flowSeconds) * time.Second
	}
	return server
}
