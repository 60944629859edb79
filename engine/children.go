package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/workflow"

	"github.com/flowd/flowd/scripting"
)

// Names of the activities and the signal added for children, messages and state.
// Like the others, they are part of recorded histories.
const (
	activityPrepareFlow = "flowd.PrepareFlow"
	activityGetSetting  = "flowd.GetSetting"
	activitySaveSetting = "flowd.SaveSetting"
	activityGetFile     = "flowd.GetFile"
	activitySaveFile    = "flowd.SaveFile"
	// SignalMessage delivers the answer to a pending this.message.
	SignalMessage = "flowd.message"
)

// DefaultMaxParallel bounds the children (connections and flows) one execution runs at
// once; Temporal allows at most 2,000 pending children per workflow.
const DefaultMaxParallel = 20

// DefaultMaxHistory keeps an execution well under Temporal's hard limit of 51,200
// history events (and 50 MB): past it, starting another child is an error that says to
// split the work into child flows, instead of a workflow that Temporal terminates.
const DefaultMaxHistory = 40000

// nextChild checks that another child may start (history, size of its inputs), waits
// for room among the running children and counts it. It returns the size of the
// inputs as JSON.
func (h *flowHost) nextChild(inputs map[string]any, what, hint string) (int, error) {
	if err := h.checkChildren(); err != nil {
		return 0, err
	}
	raw, err := json.Marshal(inputs)
	if err != nil || len(raw) > MaxInputBytes {
		return 0, inputError(fmt.Sprintf("%s are too large (%d bytes as JSON, limit %d): %s", what, len(raw), MaxInputBytes, hint))
	}
	h.makeRoom()
	if h.smallTasks() {
		if err := h.checkHistory(); err != nil {
			return 0, err // the children waited for may have filled it
		}
	}
	h.children++
	return len(raw), nil
}

// pending is a started child; Wait gives its ended state once.
type pending struct {
	id, name string
	wait     func() (scripting.Child, error)
	done     bool
	child    scripting.Child
	err      error
	h        *flowHost
}

func (p *pending) ID() string   { return p.id }
func (p *pending) Name() string { return p.name }

func (p *pending) Wait() (scripting.Child, error) {
	if !p.done {
		p.child, p.err = p.wait()
		p.done = true
		for i, o := range p.h.open {
			if o == p {
				p.h.open = append(p.h.open[:i], p.h.open[i+1:]...)
				break
			}
		}
	}
	return p.child, p.err
}

// makeRoom waits for the oldest running children until fewer than the execution's
// maximum run at once.
func (h *flowHost) makeRoom() {
	limit := h.in.MaxParallel
	if limit <= 0 {
		limit = DefaultMaxParallel
	}
	for len(h.open) >= limit {
		_, _ = h.open[0].Wait() // the script sees the result when it waits itself
	}
}

// actCtx is the context for a child's activities: once the execution is cancelled,
// calls made by the script's finally blocks still run.
func (h *flowHost) actCtx() workflow.Context {
	if h.ctx.Err() != nil {
		ctx, _ := workflow.NewDisconnectedContext(h.ctx)
		return ctx
	}
	return h.ctx
}

// advance moves the script's clock to a recorded time.
func (h *flowHost) advance(t time.Time) {
	if t.After(h.now) {
		h.now = t.UTC()
	}
}

// inputError is a request that cannot start; the script sees a TypeError-like error.
func inputError(msg string) error { return &scripting.InputError{Message: msg} }

// Connect starts a connector call as a local activity.
func (h *flowHost) Connect(req scripting.ConnectRequest) (scripting.Pending, error) {
	if h.replay != nil {
		return h.replayConnect(req)
	}
	if _, err := h.nextChild(req.Inputs, "the connector's inputs", "send large bodies from a stored file"); err != nil {
		return nil, err
	}
	in := ConnectInput{
		ParentID:  h.in.ExecutionID,
		RootID:    h.in.RootID,
		ChildID:   childID(h.in.ExecutionID, h.children),
		Connector: req.Name,
		Inputs:    req.Inputs,
		Secrets:   req.Secrets,
		At:        h.now,
		Logs:      h.takeLogs(),
	}
	in.ParentOutputs = h.unsavedOutputs()
	writes := h.saved.writes
	name := req.Name
	if name == "" {
		t, _ := req.Inputs["connector_type"].(string)
		name = strings.ToUpper(t)
	}
	ctx := h.actCtx()
	if h.unsent {
		// A child workflow started in this workflow task is only started when the task
		// completes, and a running local activity holds the task open: end the task
		// first with a 1 ms timer, so that the child does not wait for this call.
		_ = workflow.Sleep(ctx, time.Millisecond)
		h.unsent = false
	}
	h.room(ctx, 0)
	if h.smallTasks() {
		in.InlineBytes = h.inlineBytes()
	}
	fut := workflow.ExecuteLocalActivity(ctx, activityConnect, in)
	p := &pending{id: in.ChildID, name: name, h: h}
	p.wait = func() (scripting.Child, error) {
		res, err := h.connectResult(ctx, fut, in.ChildID)
		if in.ParentOutputs != nil && (err != nil || h.saved.writes != writes) {
			// The call wrote the outputs when it began: it failed, or a later step's
			// write may have landed first and been overwritten with these older ones.
			h.outputsLost()
		}
		if err != nil {
			if ctx.Err() != nil {
				// Cancelled while the call ran: the connection ends cancelled too.
				dctx, _ := workflow.NewDisconnectedContext(ctx)
				fin := FinishInput{ExecutionID: in.ChildID, Status: StatusEndedCancelled, Message: "cancelled with its parent", Outputs: json.RawMessage("{}"), At: workflow.Now(dctx).UTC()}
				_ = workflow.ExecuteLocalActivity(dctx, activityFinish, fin).Get(dctx, nil)
				return scripting.Child{}, scripting.ErrCancelled
			}
			var ie *scripting.InputError
			if errors.As(err, &ie) {
				return scripting.Child{}, err
			}
			return scripting.Child{}, fmt.Errorf("the connection could not be run or recorded (%v); try again later", err)
		}
		if res.InputError != "" {
			return scripting.Child{}, inputError(res.InputError)
		}
		h.advance(res.EndedAt)
		return scripting.Child{ID: in.ChildID, Name: res.Name, Status: string(res.Status), StatusMessage: res.Message,
			Inputs: res.Inputs, Outputs: res.Outputs}, nil
	}
	h.open = append(h.open, p)
	return p, nil
}

// Flow starts another flow as a child workflow, after recording its FLOW execution.
func (h *flowHost) Flow(req scripting.FlowRequest) (scripting.Pending, error) {
	var replayOf string // the recorded child a replay's child replays
	if h.replay != nil {
		var err error
		if replayOf, err = h.replayFlow(req); err != nil {
			return nil, err
		}
	}
	size, err := h.nextChild(req.Inputs, "the child's inputs", "pass large data as a file and its name as an input")
	if err != nil {
		return nil, err
	}
	id := childID(h.in.ExecutionID, h.children)
	ctx := h.actCtx()
	prepIn := PrepareFlowInput{ParentID: h.in.ExecutionID, RootID: h.in.RootID, ChildID: id, Flow: req.Name,
		Inputs: req.Inputs, At: h.now, Logs: h.takeLogs(), ReplayOf: replayOf}
	var prep PrepareFlowResult
	h.room(ctx, 0)
	if err := workflow.ExecuteLocalActivity(ctx, activityPrepareFlow, prepIn).Get(ctx, &prep); err != nil {
		if ctx.Err() != nil {
			return nil, scripting.ErrCancelled
		}
		return nil, fmt.Errorf("the child flow could not be recorded (%v); try again later", err)
	}
	h.spent(len(prep.Script) + len(prep.Error))
	if prep.Error != "" {
		return nil, inputError(prep.Error)
	}
	inputs := req.Inputs
	if prep.Inputs != nil {
		// Completed with the defaults of the child's inputs_schema (histories
		// recorded before inputs_schema have none, and run with the inputs given).
		inputs = prep.Inputs
		raw, _ := json.Marshal(inputs)
		size = len(raw)
		h.spent(size)
	}
	// The child's start carries its script and inputs in this task's commands.
	h.room(ctx, len(prep.Script)+size)
	h.spent(len(prep.Script) + size)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:          id,
		TaskQueue:           workflow.GetInfo(ctx).TaskQueueName,
		ParentClosePolicy:   enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WaitForCancellation: true,
	})
	parent := h.in.ExecutionID
	fut := workflow.ExecuteChildWorkflow(cctx, WorkflowName, FlowInput{
		ExecutionID: id, RootID: h.in.RootID, ParentID: &parent, Flow: req.Name, Revision: prep.Revision,
		Script: prep.Script, Inputs: inputs, Trigger: TriggerParent, MaxParallel: h.in.MaxParallel, MaxHistory: h.in.MaxHistory,
		MaxRuntime: runtimeOf(prep.MaxRuntime, h.in.ServerMaxRuntime), ServerMaxRuntime: h.in.ServerMaxRuntime, BaseURL: h.in.BaseURL,
		ReplayOf: replayOf,
	})
	h.unsent = true
	p := &pending{id: id, name: req.Name, h: h}
	p.wait = func() (scripting.Child, error) {
		waiting := !fut.IsReady()
		if waiting {
			h.setStatus(ctx, StatusWaiting, nil)
		}
		var res FlowResult
		err := fut.Get(cctx, &res)
		if ctx.Err() != nil {
			return scripting.Child{}, scripting.ErrCancelled
		}
		if waiting {
			h.setStatus(ctx, StatusRunning, nil)
		}
		if err != nil {
			// The child is gone (terminated, timed out, failed to start): never wait
			// on it forever, and record how it ended.
			msg := fmt.Sprintf("the child flow did not finish: %v", err)
			fin := FinishInput{ExecutionID: id, Status: StatusEndedError, Message: msg, Outputs: json.RawMessage("{}"), At: workflow.Now(ctx).UTC()}
			_ = workflow.ExecuteLocalActivity(ctx, activityFinish, fin).Get(ctx, nil)
			return scripting.Child{ID: id, Name: req.Name, Status: string(StatusEndedError), StatusMessage: msg, Inputs: inputs, Outputs: map[string]any{}}, nil
		}
		if res.Diverged {
			h.childDiverged(req.Name, id, res.Message)
		}
		h.advance(res.EndedAt)
		return scripting.Child{ID: id, Name: req.Name, Status: string(res.Status), StatusMessage: res.Message, Inputs: inputs, Outputs: res.Outputs}, nil
	}
	h.open = append(h.open, p)
	return p, nil
}

// MessageAnswer is the signal that answers a pending this.message.
type MessageAnswer struct {
	ID         int       `json:"id"`
	Answer     any       `json:"answer"`
	AnsweredAt time.Time `json:"answered_at"`
}

// PendingMessage is what an execution waiting in this.message shows (Execution.Message).
type PendingMessage struct {
	ID      int     `json:"id"`
	Subject string  `json:"subject"`
	Body    any     `json:"body,omitempty"`
	Fields  any     `json:"fields,omitempty"`
	Timeout float64 `json:"timeout,omitempty"`
}

// Message waits, WAITING, for the answer signal or the timeout.
func (h *flowHost) Message(req scripting.MessageRequest) (any, error) {
	if h.ctx.Err() != nil {
		return nil, scripting.ErrCancelled
	}
	if err := h.checkHistory(); err != nil {
		return nil, err
	}
	if h.replay != nil {
		return h.replayMessage(req)
	}
	h.messages++
	msg, err := json.Marshal(PendingMessage{ID: h.messages, Subject: req.Subject, Body: req.Body, Fields: req.Fields, Timeout: req.Timeout.Seconds()})
	if err != nil {
		return nil, inputError("this.message: the message cannot be stored as JSON: " + err.Error())
	}
	h.setStatus(h.ctx, StatusWaiting, msg)

	var (
		answer   MessageAnswer
		answered bool
		timedOut bool
	)
	sel := workflow.NewSelector(h.ctx)
	ch := workflow.GetSignalChannel(h.ctx, SignalMessage)
	sel.AddReceive(ch, func(c workflow.ReceiveChannel, _ bool) {
		var a MessageAnswer
		c.Receive(h.ctx, &a)
		if a.ID == h.messages {
			answer, answered = a, true
		} // an answer to an earlier message that arrived late is dropped
	})
	sel.AddReceive(h.ctx.Done(), func(workflow.ReceiveChannel, bool) {})
	tctx, cancelTimer := workflow.WithCancel(h.ctx)
	defer cancelTimer()
	if req.Timeout > 0 {
		sel.AddFuture(workflow.NewTimer(tctx, req.Timeout), func(f workflow.Future) {
			if f.Get(tctx, nil) == nil {
				timedOut = true
			}
		})
	}
	for !answered && !timedOut && h.ctx.Err() == nil {
		sel.Select(h.ctx)
	}
	if h.ctx.Err() != nil {
		return nil, scripting.ErrCancelled
	}
	h.setStatus(h.ctx, StatusRunning, json.RawMessage("null"))
	if timedOut {
		h.now = h.now.Add(req.Timeout)
		return nil, scripting.ErrTimeout
	}
	h.advance(answer.AnsweredAt)
	return answer.Answer, nil
}

// StateResult is what GetSetting and GetFile return.
type StateResult struct {
	Found   bool            `json:"found"`
	Value   json.RawMessage `json:"value,omitempty"`
	Content []byte          `json:"content,omitempty"`
}

// SaveStateInput is what SaveSetting and SaveFile store.
type SaveStateInput struct {
	Name    string          `json:"name"`
	Value   json.RawMessage `json:"value,omitempty"`
	Content []byte          `json:"content,omitempty"`
}

func (h *flowHost) state(activity string, in any) (StateResult, error) {
	if err := h.checkHistory(); err != nil {
		return StateResult{}, err
	}
	ctx := h.actCtx()
	var res StateResult
	h.room(ctx, 0)
	if err := workflow.ExecuteLocalActivity(ctx, activity, in).Get(ctx, &res); err != nil {
		return res, errors.New(activityMessage(err))
	}
	h.spent(len(res.Value) + len(res.Content)*4/3)
	return res, nil
}

func (h *flowHost) Setting(name string) (any, bool, error) {
	if v, ok := h.replay.setting(name); ok {
		return v, true, nil
	}
	res, err := h.state(activityGetSetting, name)
	if err != nil || !res.Found {
		return nil, false, err
	}
	var v any
	if err := json.Unmarshal(res.Value, &v); err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func (h *flowHost) SaveSetting(name string, value any) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return err
	}
	if h.replay != nil {
		return h.replay.saveSetting(name, raw)
	}
	_, err = h.state(activitySaveSetting, SaveStateInput{Name: name, Value: raw})
	return err
}

func (h *flowHost) File(name string) ([]byte, bool, error) {
	if content, ok := h.replay.file(name); ok {
		return content, true, nil
	}
	res, err := h.state(activityGetFile, name)
	return res.Content, res.Found, err
}

func (h *flowHost) SaveFile(name string, content []byte) error {
	if len(content) > MaxFileBytes {
		return fmt.Errorf("the file is %d bytes; the limit is %d", len(content), MaxFileBytes)
	}
	if h.replay != nil {
		return h.replay.saveFile(name, content)
	}
	_, err := h.state(activitySaveFile, SaveStateInput{Name: name, Content: content})
	return err
}

// activityMessage is the user-facing part of an activity's error.
func activityMessage(err error) string {
	var appErr interface{ Message() string }
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return err.Error()
}
