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
}

// FlowResult is how a flow execution ended.
type FlowResult struct {
	Status  Status         `json:"status"`
	Message string         `json:"message"`
	Outputs map[string]any `json:"outputs"`
}

// Limits of one execution that keep it inside Temporal's payload and history limits.
const (
	maxLogLineBytes  = 16 << 10
	logFlushLines    = 1000
	cpuBudget        = 300 * time.Millisecond
	maxConnectMinute = 30
)

// FlowWorkflow runs a flow's script. Everything that leaves the script (connector calls,
// log lines, status changes) goes through local activities whose results are recorded,
// so that a replay after a crash gives the script the same answers.
func FlowWorkflow(ctx workflow.Context, in FlowInput) (FlowResult, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: maxConnectMinute * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    200 * time.Millisecond,
			BackoffCoefficient: 2,
			MaximumInterval:    10 * time.Second,
			MaximumAttempts:    10,
		},
	})
	h := &flowHost{ctx: ctx, in: in, outputs: map[string]any{}, now: workflow.GetInfo(ctx).WorkflowStartTime.UTC()}
	if err := workflow.ExecuteLocalActivity(ctx, activityBegin, BeginInput{ExecutionID: in.ExecutionID, At: h.now}).Get(ctx, nil); err != nil {
		return FlowResult{}, err // the store is down; Temporal retries the workflow task
	}
	var outcome scripting.Outcome
	if prog, err := scripting.Compile(in.Flow, in.Script); err != nil {
		outcome = scripting.Outcome{Status: string(StatusEndedError), Message: "the flow's script cannot run: " + err.Error()}
	} else {
		inputs := in.Inputs
		if inputs == nil {
			inputs = map[string]any{}
		}
		outcome = scripting.Run(prog, h, inputs, scripting.Options{CPUBudget: cpuBudget, Seed: seedOf(in.ExecutionID)})
	}
	if outcome.Outputs == nil {
		outcome.Outputs = map[string]any{}
	}
	if ctx.Err() != nil {
		// Cancelled: the script has run its finally blocks; record the end on a
		// context that is not cancelled.
		outcome.Status, outcome.Message = string(StatusEndedCancelled), "cancelled on request"
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	res := FlowResult{Status: Status(outcome.Status), Message: outcome.Message, Outputs: outcome.Outputs}
	outputs, err := json.Marshal(res.Outputs)
	if err != nil {
		res = FlowResult{Status: StatusEndedError, Message: "the flow's outputs cannot be stored as JSON: " + err.Error(), Outputs: map[string]any{}}
		outputs = []byte("{}")
	}
	fin := FinishInput{ExecutionID: in.ExecutionID, Status: res.Status, Message: res.Message, Outputs: outputs,
		At: latest(workflow.Now(ctx), h.now), Logs: h.takeLogs()}
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
	// now is the script's clock (Date, log timestamps). It moves only with what is
	// recorded durably (the workflow's start, the end of each connection), never with
	// the time a workflow task happens to run, so that a flow re-run after a crash sees
	// the same Date.now() values as before it, even within an unfinished workflow task.
	now time.Time
}

func (h *flowHost) Now() time.Time { return h.now }

func (h *flowHost) Log(level, message string) {
	if len(message) > maxLogLineBytes {
		message = message[:maxLogLineBytes] + fmt.Sprintf("… [truncated: %d bytes in all]", len(message))
	}
	h.logSeq++
	h.logs = append(h.logs, LogLine{ExecutionID: h.in.ExecutionID, Seq: h.logSeq, TS: h.now, Level: level, Message: message})
	if len(h.logs) >= logFlushLines {
		// A chatty script must not hold thousands of lines only in memory.
		_ = workflow.ExecuteLocalActivity(h.ctx, activityFlushLog, h.takeLogs()).Get(h.ctx, nil)
	}
}

// Sleep is a durable timer; the execution is WAITING meanwhile.
func (h *flowHost) Sleep(d time.Duration) error {
	if h.ctx.Err() != nil {
		return scripting.ErrCancelled
	}
	h.setStatus(h.ctx, StatusWaiting)
	if err := workflow.Sleep(h.ctx, d); err != nil {
		return scripting.ErrCancelled
	}
	h.now = h.now.Add(d)
	h.setStatus(h.ctx, StatusRunning)
	return nil
}

// setStatus records a status change with the pending log lines. A store failure is
// retried by the local activity's policy; past that the status shows late, which is
// better than failing the flow.
func (h *flowHost) setStatus(ctx workflow.Context, st Status) {
	in := SetStatusInput{ExecutionID: h.in.ExecutionID, Status: st, Logs: h.takeLogs()}
	if err := workflow.ExecuteLocalActivity(ctx, activitySetStatus, in).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("record status", "status", st, "error", err)
	}
}

func (h *flowHost) takeLogs() []LogLine {
	l := h.logs
	h.logs = nil
	return l
}

func (h *flowHost) SetOutput(key string, value any) { h.outputs[key] = value }

func (h *flowHost) Self() scripting.Child {
	return scripting.Child{ID: h.in.ExecutionID, Name: h.in.Flow, Status: string(StatusRunning), Inputs: h.in.Inputs}
}

func (h *flowHost) Connect(req scripting.ConnectRequest) (scripting.Child, error) {
	h.children++
	in := ConnectInput{
		ParentID:  h.in.ExecutionID,
		RootID:    h.in.RootID,
		ChildID:   childID(h.in.ExecutionID, h.children),
		Connector: req.Name,
		Inputs:    req.Inputs,
		At:        h.now,
		Logs:      h.takeLogs(),
	}
	if len(h.outputs) > 0 {
		in.ParentOutputs, _ = json.Marshal(h.outputs)
	}
	ctx := h.ctx
	if ctx.Err() != nil {
		// Cancelled already: a connect in the script's finally block runs to its end.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	var res ConnectResult
	if err := workflow.ExecuteLocalActivity(ctx, activityConnect, in).Get(ctx, &res); err != nil {
		if ctx.Err() != nil {
			// Cancelled while the call ran: the connection ends cancelled too.
			dctx, _ := workflow.NewDisconnectedContext(ctx)
			fin := FinishInput{ExecutionID: in.ChildID, Status: StatusEndedCancelled, Message: "cancelled with its parent", Outputs: json.RawMessage("{}"), At: workflow.Now(dctx).UTC()}
			_ = workflow.ExecuteLocalActivity(dctx, activityFinish, fin).Get(dctx, nil)
			return scripting.Child{}, scripting.ErrCancelled
		}
		return scripting.Child{}, fmt.Errorf("the connection could not be run or recorded (%v); try again later", err)
	}
	if res.EndedAt.After(h.now) {
		h.now = res.EndedAt.UTC()
	}
	if res.InputError != "" {
		return scripting.Child{}, fmt.Errorf("%s", res.InputError)
	}
	return scripting.Child{ID: in.ChildID, Name: res.Name, Status: string(res.Status), StatusMessage: res.Message,
		Inputs: res.Inputs, Outputs: res.Outputs}, nil
}
