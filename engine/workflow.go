package engine

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/flowd/flowd/scripting"
)

// Names under which the workflow and activities are registered. They are part of the
// recorded histories: renaming one breaks running executions and the replay test.
const (
	WorkflowName      = "flowd.Flow"
	activityBegin     = "flowd.Begin"
	activityConnect   = "flowd.Connect"
	activityFinish    = "flowd.Finish"
	activityFlushLog  = "flowd.FlushLogs"
	activitySetStatus = "flowd.SetStatus"
)

// FlowInput starts one flow execution. The script travels with it, so that the
// execution runs the revision it started with even if the flow is edited meanwhile.
type FlowInput struct {
	ExecutionID string         `json:"execution_id"`
	RootID      string         `json:"root_id"`
	ParentID    *string        `json:"parent_id,omitempty"`
	Flow        string         `json:"flow"`
	Revision    int            `json:"revision"`
	Script      string         `json:"script"`
	Inputs      map[string]any `json:"inputs"`
	Trigger     Trigger        `json:"trigger"`
	// MaxParallel bounds the children running at once (0: DefaultMaxParallel).
	MaxParallel int `json:"max_parallel,omitempty"`
	// MaxHistory is the number of history events past which the execution refuses
	// to start more children (0: DefaultMaxHistory).
	MaxHistory int `json:"max_history,omitempty"`
	// MaxRuntime ends the execution ENDED_ERROR when it runs longer (0: no limit);
	// ServerMaxRuntime is the server's default, for children whose flow sets none.
	MaxRuntime       time.Duration `json:"max_runtime,omitempty"`
	ServerMaxRuntime time.Duration `json:"server_max_runtime,omitempty"`
	// BaseURL is the API's public base URL (system.base_url), given by the process
	// that started the root execution and passed on to its children.
	BaseURL string `json:"base_url,omitempty"`
	// ReplayOf, when set, runs the script against that ended execution's recorded
	// answers instead of the world (engine/replay.go).
	ReplayOf string `json:"replay_of,omitempty"`
}

// FlowResult is how a flow execution ended.
type FlowResult struct {
	Status  Status         `json:"status"`
	Message string         `json:"message"`
	Outputs map[string]any `json:"outputs"`
	EndedAt time.Time      `json:"ended_at"`
	// Diverged tells that a replay ended because the script asked for something
	// other than what was recorded; Message says what.
	Diverged bool `json:"diverged,omitempty"`
}

// Limits of one execution that keep it inside Temporal's payload and history limits.
const (
	// MaxOutputBytes bounds a flow's outputs and MaxInputBytes its inputs (as JSON):
	// Temporal refuses payloads over 2 MB.
	MaxOutputBytes   = 1 << 20
	MaxInputBytes    = 1 << 20
	maxLogLineBytes  = 16 << 10
	logFlushLines    = 1000
	logFlushBytes    = 256 << 10 // log lines travel in activity inputs: stay far below 2 MB
	maxConnectMinute = 30
)

// ScriptRunner runs a flow's script to its end against a host: a sandbox.Pool in a
// worker (each script in a process of its own, with a memory limit), InProcess in unit
// tests and replays.
type ScriptRunner interface {
	Run(job scripting.Job, host scripting.Host) scripting.Outcome
}

// InProcess runs scripts in the calling process, with no memory limit: for unit tests
// and for replaying recorded histories, never for a worker.
type InProcess struct{}

// Run compiles and runs the job.
func (InProcess) Run(job scripting.Job, host scripting.Host) scripting.Outcome {
	return scripting.RunJob(job, host)
}

// FlowWorkflow returns the workflow that runs a flow's script with scripts. Everything
// that leaves the script (connector calls, log lines, status changes) goes through
// local activities whose results are recorded, so that a replay after a crash gives the
// script the same answers.
func FlowWorkflow(scripts ScriptRunner) func(ctx workflow.Context, in FlowInput) (FlowResult, error) {
	return func(ctx workflow.Context, in FlowInput) (FlowResult, error) {
		return runFlow(ctx, in, scripts)
	}
}

func runFlow(ctx workflow.Context, in FlowInput, scripts ScriptRunner) (FlowResult, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: maxConnectMinute * time.Minute,
		// The local activities fail only when the store cannot be reached (a
		// connector's own failures end its CONNECTION row instead): retry them until
		// it is back, every 10 s at most, so that a database outage of any length
		// delays executions without failing them.
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
		},
	})
	if in.Trigger == TriggerSchedule && in.ExecutionID == "" {
		// Started by a Temporal Schedule, so no row exists yet (engine/schedules.go).
		var ended *FlowResult
		var err error
		if in, ended, err = beginScheduled(ctx, in); err != nil {
			return FlowResult{}, err
		} else if ended != nil {
			return *ended, nil
		}
	}
	h := &flowHost{ctx: ctx, in: in, outputs: map[string]any{}, now: workflow.GetInfo(ctx).WorkflowStartTime.UTC()}
	overtime := false
	if in.MaxRuntime > 0 {
		// The script's context ends at the maximum runtime: its current wait throws a
		// CancelledError (finally blocks run) and the execution ends ENDED_ERROR.
		sctx, stop := workflow.WithCancel(ctx)
		workflow.Go(ctx, func(gctx workflow.Context) {
			if workflow.NewTimer(gctx, in.MaxRuntime).Get(gctx, nil) == nil {
				overtime = true
				stop()
			}
		})
		h.ctx = sctx
	}
	if ended, err := begin(ctx, in, h.now); err != nil {
		return FlowResult{}, err // the store is down
	} else if ended != nil {
		return *ended, nil // cancelled before its first step (engine/begin.go)
	}
	var outcome scripting.Outcome
	if err := h.startReplay(); err != nil {
		outcome = scripting.Outcome{Status: string(StatusEndedError), Message: err.Error()}
	} else {
		outcome = scripts.Run(scripting.Job{Name: in.Flow, Script: in.Script, Inputs: in.Inputs, ExecutionID: in.ExecutionID,
			Options: scripting.Options{CPUBudget: scripting.DefaultCPUBudget, Seed: seedOf(in.ExecutionID), BaseURL: in.BaseURL}}, h)
	}
	if outcome.Outputs == nil {
		outcome.Outputs = map[string]any{}
	}
	// A flow ends after its children: the ones started with {wait: false} and never
	// waited for run to their end (or, when cancelled, are cancelled and recorded so).
	for len(h.open) > 0 {
		_, _ = h.open[0].Wait()
	}
	switch {
	case ctx.Err() != nil:
		// Cancelled: the script has run its finally blocks; record the end on a
		// context that is not cancelled.
		outcome.Status, outcome.Message = string(StatusEndedCancelled), "cancelled on request"
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	case overtime:
		outcome.Status = string(StatusEndedError)
		outcome.Message = fmt.Sprintf("the execution ran longer than its maximum runtime of %s and was stopped; raise it with the flow's max_runtime (PUT /api/v1/flows/%s) or the server's --max-runtime", in.MaxRuntime, in.Flow)
	default:
		h.endReplay(&outcome)
	}
	res := FlowResult{Status: Status(outcome.Status), Message: outcome.Message, Outputs: outcome.Outputs, Diverged: h.replay != nil && h.replay.diverged != ""}
	outputs, err := json.Marshal(res.Outputs)
	switch {
	case err != nil:
		res = FlowResult{Status: StatusEndedError, Message: "the flow's outputs cannot be stored as JSON: " + err.Error(), Outputs: map[string]any{}}
		outputs = []byte("{}")
	case len(outputs) > MaxOutputBytes:
		// Temporal refuses payloads over 2 MB: a bigger output would wedge the workflow.
		res = FlowResult{Status: StatusEndedError, Outputs: map[string]any{},
			Message: fmt.Sprintf("the flow's outputs are %d bytes, over the limit of %d: return less, or save large data with system.file(name).save_text_content()", len(outputs), MaxOutputBytes)}
		outputs = []byte("{}")
	}
	fin := FinishInput{ExecutionID: in.ExecutionID, Status: res.Status, Message: res.Message, Outputs: outputs,
		At: latest(workflow.Now(ctx), h.now), Logs: h.takeLogs()}
	res.EndedAt = fin.At
	if err := workflow.ExecuteLocalActivity(ctx, activityFinish, fin).Get(ctx, nil); err != nil {
		return FlowResult{}, err
	}
	return res, nil
}

// latest returns the later of two times, in UTC.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		a = b
	}
	return a.UTC()
}

// seedOf derives the Math.random seed from the execution id: the same on every replay.
func seedOf(id string) int64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int64(h.Sum64())
}

// childID derives a child execution's id from its parent's and its place among the
// parent's children, so that a replayed or retried call creates no second row.
func childID(parent string, n int) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, fmt.Appendf(nil, "%s/%d", parent, n)).String()
}

// flowHost implements scripting.Host inside the workflow.
type flowHost struct {
	ctx      workflow.Context
	in       FlowInput
	outputs  map[string]any
	logs     []LogLine
	logSeq   int64
	children int
	open     []*pending // started children not waited for yet, oldest first
	logBytes int
	unsent   bool // a child workflow was started in the current workflow task
	messages int
	tasks    taskBudget // what the current workflow task carries (engine/tasks.go)
	saved    savedOutputs
	// replay, when set, answers the script from a recorded execution (engine/replay.go).
	replay *replaying
	// now is the script's clock (Date, log timestamps). It moves only with what is
	// recorded durably (the workflow's start, the end of each connection), never with
	// the time a workflow task happens to run, so that a flow re-run after a crash sees
	// the same Date.now() values as before it, even within an unfinished workflow task.
	now time.Time
}

func (h *flowHost) Now() time.Time { return h.now }

// Log buffers a line; the lines travel with the next activity. It reports a full
// buffer: a chatty script must not hold thousands of lines only in memory.
func (h *flowHost) Log(level, message string) (full bool) {
	if len(message) > maxLogLineBytes {
		message = message[:maxLogLineBytes] + fmt.Sprintf("… [truncated: %d bytes in all]", len(message))
	}
	h.logSeq++
	h.logs = append(h.logs, LogLine{ExecutionID: h.in.ExecutionID, Seq: h.logSeq, TS: h.now, Level: level, Message: message})
	h.logBytes += len(message) + 64
	return h.logsFull()
}

// FlushLogs writes the buffered lines now.
func (h *flowHost) FlushLogs() { h.flushLogs() }

// Sleep is a durable timer; the execution is WAITING meanwhile.
func (h *flowHost) Sleep(d time.Duration) error {
	if h.ctx.Err() != nil {
		return scripting.ErrCancelled
	}
	if h.replay != nil {
		h.now = h.now.Add(d) // a replay does not wait: the clock moves as it did
		return nil
	}
	if err := h.checkHistory(); err != nil {
		return err
	}
	h.setStatus(h.ctx, StatusWaiting, nil)
	if err := workflow.Sleep(h.ctx, d); err != nil {
		return scripting.ErrCancelled
	}
	h.now = h.now.Add(d)
	h.setStatus(h.ctx, StatusRunning, nil)
	return nil
}

// setStatus records a status change with the pending log lines. A store failure is
// retried by the local activity's policy; past that the status shows late, which is
// better than failing the flow.
func (h *flowHost) setStatus(ctx workflow.Context, st Status, message json.RawMessage) {
	in := SetStatusInput{ExecutionID: h.in.ExecutionID, Status: st, Logs: h.takeLogs(), Message: message}
	in.Outputs = h.unsavedOutputs()
	if err := workflow.ExecuteLocalActivity(ctx, activitySetStatus, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("record status", "status", st, "error", err)
		if in.Outputs != nil {
			h.outputsLost()
		}
	}
}

func (h *flowHost) takeLogs() []LogLine {
	l := h.logs
	h.logs, h.logBytes = nil, 0
	return l
}

func (h *flowHost) SetOutput(key string, value any) {
	h.outputs[key] = value
	h.saved.changes++
}

// savedOutputs tracks what the execution's row shows of the outputs set so far.
// Every durable step (sleep, message, child wait, connect) writes them, so that a
// waiting execution shows them, but only when they changed since the last write: a
// flow with 20,000 connects and 1 MB of outputs must not write 20 GB. It lives in
// the workflow and changes only with recorded steps, so a replay decides the same.
type savedOutputs struct {
	changes int    // set_output calls so far
	written int    // changes when the outputs were last handed to a write; -1: none is known to hold
	sum     uint64 // FNV-1a of the JSON last handed to a write
	writes  int    // writes handed out: a connect's write may land after a later one
}

// unsavedOutputs returns the outputs as JSON when they changed since the last write,
// and counts them as written; nil when the row shows them already. Outputs that
// cannot be stored are left to the execution's end, which reports why.
func (h *flowHost) unsavedOutputs() json.RawMessage {
	if h.saved.changes == h.saved.written {
		return nil
	}
	raw, err := json.Marshal(h.outputs)
	if err != nil || len(raw) > MaxOutputBytes {
		return nil
	}
	f := fnv.New64a()
	f.Write(raw)
	sum := f.Sum64()
	known := h.saved.written >= 0 && sum == h.saved.sum
	h.saved.written, h.saved.sum = h.saved.changes, sum
	if known {
		return nil // set again to the same values
	}
	h.saved.writes++
	return raw
}

// outputsLost is told that a write of the outputs failed or may have been
// overwritten by an older one: the next durable step writes them again.
func (h *flowHost) outputsLost() { h.saved.written = -1 }

func (h *flowHost) Self() scripting.Child {
	return scripting.Child{ID: h.in.ExecutionID, Name: h.in.Flow, Status: string(StatusRunning), Inputs: h.in.Inputs}
}
