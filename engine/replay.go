package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/flowd/flowd/scripting"
)

// A replay runs a flow's script (the latest revision, or one sent with the request)
// with an ended execution's inputs, and answers what the script asks from what that
// execution recorded instead of from the world:
//
//   - each this.connect, in the order the original script made them (the order of
//     its connections' places among its children, childID), with the recorded
//     connection's status, message and outputs; no connector runs and no secret is
//     resolved. The replay records a CONNECTION child of its own with the recorded
//     result, replay_of naming the recorded one.
//   - each this.flow with a child flow that replays the recorded child execution
//     the same way (the child flow's latest revision).
//   - this.message with the recorded answer, sleeps at once.
//   - system.setting and system.file read the current values (the values a run read
//     are not recorded outside Temporal's history); what the replay saves stays in
//     the replay and is never written.
//
// When the script asks for a connect whose connector or inputs differ from the
// recorded one, or for more connects (or child flows) than were recorded, the replay
// "diverges": the call fails, and the replay ends ENDED_ERROR with a message that
// starts "replay diverged at connect #N" and shows both, even if the script catches
// the error.

// Names of the replay's activities; like the others, part of recorded histories.
const (
	activityReplayPlan    = "flowd.ReplayPlan"
	activityReplayConnect = "flowd.ReplayConnect"
)

// maxReplayShown bounds each side of the inputs a divergence message shows.
const maxReplayShown = 1000

// ReplaySource returns the execution with id when a replay can answer from it: a
// FLOW execution that has ended. It returns ENotFound for an unknown execution,
// EUnprocessable for a connection and EConflict for one still running.
func (e *Engine) ReplaySource(ctx context.Context, id string) (Execution, error) {
	src, err := e.Store.GetExecution(ctx, id)
	if err != nil {
		return Execution{}, err
	}
	if src.Type == TypeConnection {
		parent := src.RootID
		if src.ParentID != nil {
			parent = *src.ParentID
		}
		return Execution{}, Errorf(EInvalid, "execution %s is a connection, which a replay answers with but cannot run: replay the flow execution that made it (POST /api/v1/executions/%s/replay)", id, parent)
	}
	if !src.Status.Ended() {
		return Execution{}, Errorf(EConflict, "execution %s is %s: a replay answers from what an ended execution recorded; wait for it to end (GET /api/v1/executions/%s?wait=60) or cancel it", id, src.Status, id)
	}
	return src, nil
}

// StartReplay starts a replay of src (from ReplaySource) with script, or the flow's
// latest revision when script is nil, and returns the PENDING execution: trigger
// "replay", replay_of src.ID, src's inputs, and the flow's latest revision as
// flow_revision (the one a given script was based on), and startedBy as started_by. It returns ENotFound when the flow no longer exists and EUnavailable
// when Temporal cannot be reached.
func (e *Engine) StartReplay(ctx context.Context, src Execution, script *string, startedBy string) (Execution, error) {
	flow, err := e.Store.GetFlow(ctx, src.Name)
	if ErrorCode(err) == ENotFound {
		return Execution{}, Errorf(ENotFound, "flow %q no longer exists: save it again (PUT /api/v1/flows/%s) to replay its executions", src.Name, src.Name)
	} else if err != nil {
		return Execution{}, err
	}
	revision, code := flow.Revision, flow.Script
	if script != nil {
		code = *script
	}
	var inputs map[string]any
	if len(src.Inputs) > 0 {
		if err := json.Unmarshal(src.Inputs, &inputs); err != nil {
			return Execution{}, fmt.Errorf("read the inputs of execution %s: %w", src.ID, err)
		}
	}
	if inputs == nil {
		inputs = map[string]any{}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Execution{}, err
	}
	srcID := src.ID
	exec := Execution{ID: id.String(), Type: TypeFlow, Name: flow.Name, Status: StatusPending, RootID: id.String(), FlowRevision: revision,
		Inputs: src.Inputs, Outputs: json.RawMessage("{}"), Trigger: TriggerReplay, CreatedAt: time.Now().UTC(), ReplayOf: &srcID, StartedBy: optional(startedBy)}
	if len(exec.Inputs) == 0 {
		exec.Inputs = json.RawMessage("{}")
	}
	if err := e.Store.Record(ctx, Progress{Create: []Execution{exec}}); err != nil {
		return Execution{}, err
	}
	in := FlowInput{ExecutionID: exec.ID, RootID: exec.ID, Flow: flow.Name, Revision: revision, Script: code, Inputs: inputs,
		Trigger: TriggerReplay, MaxParallel: e.MaxParallel, MaxHistory: e.MaxHistory,
		MaxRuntime: runtimeOf(flow.MaxRuntime, e.MaxRuntime), ServerMaxRuntime: e.MaxRuntime, BaseURL: e.BaseURL, ReplayOf: src.ID}
	opts := client.StartWorkflowOptions{ID: exec.ID, TaskQueue: e.taskQueue(), EnableEagerStart: true}
	if _, err := e.Temporal.ExecuteWorkflow(ctx, opts, WorkflowName, in); err != nil {
		e.Log.Error("start replay workflow", "execution", exec.ID, "error", err)
		msg := "the engine could not start the replay (Temporal unreachable); try again"
		now := time.Now().UTC()
		_ = e.Store.Record(context.WithoutCancel(ctx), Progress{Updates: []ExecutionUpdate{{ID: exec.ID, Status: StatusEndedError, StatusMessage: &msg, EndedAt: &now}}})
		return Execution{}, Errorf(EUnavailable, "%s", msg)
	}
	return exec, nil
}

// ReplayPlan is what a replay answers from: the places (n of childID(source, n)) of
// the recorded execution's connections and child flows, in the order its script
// asked for them, and the answers its messages got.
type ReplayPlan struct {
	Connects []int            `json:"connects,omitempty"`
	Flows    []ReplayFlowStep `json:"flows,omitempty"`
	// Answers are the recorded answers to this.message, by message number (1 first);
	// nil where none was recorded (it timed out, or the execution ended waiting).
	Answers []*MessageAnswer `json:"answers,omitempty"`
}

// ReplayFlowStep is one recorded child flow.
type ReplayFlowStep struct {
	N    int    `json:"n"`
	Name string `json:"name"`
}

// MessageAnswers reads the answers an execution's messages got, by message number;
// nil where none arrived. An implementation reads them from Temporal's history of
// the execution, which Temporal keeps for its namespace's retention period.
type MessageAnswers interface {
	Answers(ctx context.Context, executionID string) ([]*MessageAnswer, error)
}

// childRefs is a Store that lists an execution's children without their inputs and
// outputs (store.Store does); ReplayPlan needs only their ids, types and names.
type childRefs interface {
	ChildRefs(ctx context.Context, id string) ([]Execution, error)
}

// ReplayPlan reads the recorded execution source's children and puts them in the
// order its script made them. It returns a non-retryable error when source does not
// exist.
func (a *Activities) ReplayPlan(ctx context.Context, source string) (ReplayPlan, error) {
	_, err := a.Store.GetExecution(ctx, source)
	if ErrorCode(err) == ENotFound {
		return ReplayPlan{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("the replayed execution %s no longer exists (removed by retention?): replay a newer one", source), "not_found", nil)
	} else if err != nil {
		return ReplayPlan{}, err
	}
	var children []Execution
	if refs, ok := a.Store.(childRefs); ok {
		children, err = refs.ChildRefs(ctx, source)
	} else {
		children, err = a.Store.Children(ctx, source)
	}
	if err != nil {
		return ReplayPlan{}, err
	}
	byID := make(map[string]Execution, len(children))
	for _, c := range children {
		byID[c.ID] = c
	}
	// A child's id is derived from its place among the calls of its parent's script
	// (childID); calls refused before they started left a gap. The scan stops when
	// every child is placed, or past any place a script can reach.
	var plan ReplayPlan
	for n, placed := 1, 0; placed < len(children) && n <= len(children)+4*DefaultMaxHistory; n++ {
		c, ok := byID[childID(source, n)]
		if !ok {
			continue
		}
		placed++
		if c.Type == TypeConnection {
			plan.Connects = append(plan.Connects, n)
		} else {
			plan.Flows = append(plan.Flows, ReplayFlowStep{N: n, Name: c.Name})
		}
	}
	if a.Answers != nil {
		if plan.Answers, err = a.Answers.Answers(ctx, source); err != nil {
			return ReplayPlan{}, err
		}
	}
	return plan, nil
}

// ReplayConnectInput asks for connect number N of a replay, answered from the
// recorded connection Recorded (empty: the recording has no more connects).
type ReplayConnectInput struct {
	ConnectInput
	Recorded string `json:"recorded,omitempty"`
	N        int    `json:"n"`
	// Made is the number of connects the recorded execution made.
	Made int `json:"made"`
}

// ReplayConnectResult is the recorded connection as the script sees it, or why the
// replay diverged.
type ReplayConnectResult struct {
	ConnectResult
	Diverged string `json:"diverged,omitempty"`
}

// ReplayConnect compares a replay's connect with the recorded one and, when they
// ask for the same, records the replay's CONNECTION child with the recorded result
// and returns it. Nothing is called and no secret is read: the comparison uses the
// call's inputs as connections record them, secrets as references. Only a store
// failure is an error.
func (a *Activities) ReplayConnect(ctx context.Context, in ReplayConnectInput) (ReplayConnectResult, error) {
	name, requested, err := a.replayRequest(ctx, in.Connector, in.Inputs)
	if ErrorCode(err) == EUnprocessable {
		// A live call is refused the same way, before it starts: not a divergence.
		return ReplayConnectResult{ConnectResult: ConnectResult{InputError: ErrorMessage(err)}}, a.FlushParent(ctx, in.ConnectInput)
	} else if err != nil {
		return ReplayConnectResult{}, err
	}
	if in.Recorded == "" {
		msg := fmt.Sprintf("replay diverged at connect #%d: recorded nothing (the original execution made %d connects), requested %s %s",
			in.N, in.Made, name, shownJSON(requested))
		return ReplayConnectResult{Diverged: msg}, a.FlushParent(ctx, in.ConnectInput)
	}
	rec, err := a.Store.GetExecution(ctx, in.Recorded)
	if ErrorCode(err) == ENotFound {
		msg := fmt.Sprintf("replay diverged at connect #%d: the recorded connection %s no longer exists (removed by retention?); replay a newer execution", in.N, in.Recorded)
		return ReplayConnectResult{Diverged: msg}, a.FlushParent(ctx, in.ConnectInput)
	} else if err != nil {
		return ReplayConnectResult{}, err
	}
	var recorded map[string]any
	if len(rec.Inputs) > 0 {
		if err := json.Unmarshal(rec.Inputs, &recorded); err != nil {
			return ReplayConnectResult{}, fmt.Errorf("read the recorded inputs of connection %s: %w", rec.ID, err)
		}
	}
	if differ := differingKeys(recorded, requested); rec.Name != name || len(differ) > 0 {
		what := "they call different connectors"
		if rec.Name == name {
			what = "they differ in " + strings.Join(differ, ", ")
		}
		msg := fmt.Sprintf("replay diverged at connect #%d: recorded %s %s, requested %s %s; %s",
			in.N, rec.Name, shownJSON(recorded), name, shownJSON(requested), what)
		return ReplayConnectResult{Diverged: msg}, a.FlushParent(ctx, in.ConnectInput)
	}

	res, err := storedResult(rec)
	if err != nil {
		return ReplayConnectResult{}, err
	}
	if !res.Status.Ended() {
		res.Status, res.Message = StatusEndedError, "the recorded connection never ended: "+res.Message
	}
	if res.Outputs == nil {
		res.Outputs = map[string]any{}
	}
	// The outputs name the connection that holds them, as a live call's do: the
	// replay's own.
	res.Outputs["execution_id"] = in.ChildID
	rawOut, err := json.Marshal(res.Outputs)
	if err != nil {
		return ReplayConnectResult{}, err
	}
	res.EndedAt = in.At
	parent, recID := in.ParentID, rec.ID
	child := Execution{ID: in.ChildID, Type: TypeConnection, Name: rec.Name, Status: res.Status, StatusMessage: res.Message, ParentID: &parent,
		RootID: in.RootID, Inputs: rec.Inputs, Outputs: rawOut, Trigger: TriggerParent, CreatedAt: in.At, StartedAt: &in.At, EndedAt: &in.At, ReplayOf: &recID}
	p := Progress{Create: []Execution{child}, Logs: in.Logs}
	if in.ParentOutputs != nil {
		p.Updates = []ExecutionUpdate{{ID: in.ParentID, Outputs: in.ParentOutputs}}
	}
	if err := a.Store.Record(ctx, p); err != nil {
		return ReplayConnectResult{}, err
	}
	return ReplayConnectResult{ConnectResult: inline(res, in.InlineBytes)}, nil
}

// replayRequest returns the name and inputs a connection would record for a call of
// saved connector saved (empty: inline) with inputs: the saved inputs merged with the
// call's, as Resolver.Prepare merges them, secrets left as references. It returns an
// *Error with EUnprocessable, as Prepare does, when the call cannot start.
func (a *Activities) replayRequest(ctx context.Context, saved string, inputs map[string]any) (string, map[string]any, error) {
	merged := map[string]any{}
	name := ""
	if saved != "" {
		if a.Resolver == nil || a.Resolver.Saved == nil {
			return "", nil, Errorf(EUnprocessable, "saved connector %q cannot be used: this flowd worker has no saved connectors; pass the inputs inline with connector_type", saved)
		}
		c, err := a.Resolver.Saved.GetConnector(ctx, saved)
		if ErrorCode(err) == ENotFound {
			return "", nil, Errorf(EUnprocessable, "there is no saved connector %q; create it with PUT /api/v1/connectors/%s, or pass the inputs inline with connector_type", saved, saved)
		} else if err != nil {
			return "", nil, err
		}
		maps.Copy(merged, c.Inputs)
		maps.Copy(merged, inputs)
		merged["connector_type"] = c.ConnectorType
		name = c.Name
	} else {
		maps.Copy(merged, inputs)
	}
	typ, _ := merged["connector_type"].(string)
	if _, ok := a.Connectors[strings.ToUpper(typ)]; !ok {
		return "", nil, Errorf(EUnprocessable, "unknown connector_type %q; use one of: %s", typ, strings.Join(a.connectorTypes(), ", "))
	}
	if name == "" {
		name = strings.ToUpper(typ)
	}
	return name, merged, nil
}

// differingKeys returns the top-level keys, sorted, whose values differ between two
// inputs compared as JSON.
func differingKeys(a, b map[string]any) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var differ []string
	for _, k := range keys {
		va, oka := a[k]
		vb, okb := b[k]
		if oka != okb || canonicalJSON(va) != canonicalJSON(vb) {
			differ = append(differ, k)
		}
	}
	return differ
}

// canonicalJSON is v as JSON with object keys sorted and numbers as JSON writes them,
// so that the values the script made and the ones the store read compare equal.
func canonicalJSON(v any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	var back any
	if json.Unmarshal(raw, &back) != nil {
		return string(raw)
	}
	raw, _ = json.Marshal(back)
	return string(raw)
}

// shownJSON is v as JSON for a message, cut at maxReplayShown bytes.
func shownJSON(v any) string {
	s := canonicalJSON(v)
	if len(s) > maxReplayShown {
		return s[:maxReplayShown] + fmt.Sprintf("… (%d bytes in all)", len(s))
	}
	return s
}

// replaying is a replay's state in its workflow: what it answers from and how far
// the script has got. It changes only with recorded steps, so a workflow replayed
// after a crash decides the same.
type replaying struct {
	source   string
	plan     ReplayPlan
	connects int // this.connect calls so far
	flows    int // this.flow calls so far
	messages int
	diverged string // the first divergence; the replay ends with it
	// settings and files the replay saved: they stay in the replay.
	settings map[string]json.RawMessage
	files    map[string][]byte
}

// startReplay reads the plan of a replay; it returns nil at once for other
// executions, and an error that says why when the replay cannot run.
func (h *flowHost) startReplay() error {
	if h.in.ReplayOf == "" {
		return nil
	}
	var plan ReplayPlan
	if err := workflow.ExecuteLocalActivity(h.ctx, activityReplayPlan, h.in.ReplayOf).Get(h.ctx, &plan); err != nil {
		if h.ctx.Err() != nil {
			return scripting.ErrCancelled
		}
		return errors.New(activityMessage(err))
	}
	h.replay = &replaying{source: h.in.ReplayOf, plan: plan, settings: map[string]json.RawMessage{}, files: map[string][]byte{}}
	return nil
}

// endReplay ends a replay's outcome with its divergence, or logs what the script did
// not ask for.
func (h *flowHost) endReplay(outcome *scripting.Outcome) {
	r := h.replay
	if r == nil {
		return
	}
	if r.diverged != "" {
		outcome.Status, outcome.Message = string(StatusEndedError), r.diverged
		return
	}
	h.Log("info", fmt.Sprintf("replay of execution %s: %d of %d recorded connects and %d of %d recorded child flows answered from the recording; no service was called",
		r.source, r.connects, len(r.plan.Connects), r.flows, len(r.plan.Flows)))
}

// diverge records the replay's first divergence and returns it as the error the
// script's call fails with.
func (r *replaying) diverge(msg string) error {
	if r.diverged == "" {
		r.diverged = msg
	}
	return errors.New(msg)
}

// childDiverged ends the replay with a child flow's divergence.
func (h *flowHost) childDiverged(name, id, msg string) {
	if h.replay != nil {
		_ = h.replay.diverge(fmt.Sprintf("%s (in child flow %s, execution %s)", msg, name, id))
	}
}

// replayConnect answers a connect from the recording (ReplayConnect).
func (h *flowHost) replayConnect(req scripting.ConnectRequest) (scripting.Pending, error) {
	r := h.replay
	if r.diverged != "" {
		return nil, errors.New(r.diverged) // nothing after a divergence is answered
	}
	if _, err := h.nextChild(req.Inputs, "the connector's inputs", "send large bodies from a stored file"); err != nil {
		return nil, err
	}
	r.connects++
	in := ReplayConnectInput{
		ConnectInput: ConnectInput{ParentID: h.in.ExecutionID, RootID: h.in.RootID, ChildID: childID(h.in.ExecutionID, h.children),
			Connector: req.Name, Inputs: req.Inputs, At: h.now, Logs: h.takeLogs()},
		N: r.connects, Made: len(r.plan.Connects),
	}
	if r.connects <= len(r.plan.Connects) {
		in.Recorded = childID(r.source, r.plan.Connects[r.connects-1])
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
		_ = workflow.Sleep(ctx, time.Millisecond) // as in Connect
		h.unsent = false
	}
	h.room(ctx, 0)
	if h.smallTasks() {
		in.InlineBytes = h.inlineBytes()
	}
	fut := workflow.ExecuteLocalActivity(ctx, activityReplayConnect, in)
	p := &pending{id: in.ChildID, name: name, h: h}
	p.wait = func() (scripting.Child, error) {
		var res ReplayConnectResult
		err := fut.Get(ctx, &res)
		if in.ParentOutputs != nil && (err != nil || h.saved.writes != writes) {
			h.outputsLost()
		}
		if err != nil {
			if ctx.Err() != nil {
				return scripting.Child{}, scripting.ErrCancelled
			}
			return scripting.Child{}, fmt.Errorf("the replayed connection could not be recorded (%v); try again later", err)
		}
		if res.Diverged != "" {
			return scripting.Child{}, r.diverge(res.Diverged)
		}
		if res.InputError != "" {
			return scripting.Child{}, inputError(res.InputError)
		}
		if res.Stored {
			full, err := h.fetchStored(ctx, in.ChildID, res.Size)
			if err != nil {
				return scripting.Child{}, err
			}
			res.Inputs, res.Outputs = full.Inputs, full.Outputs
		}
		return scripting.Child{ID: in.ChildID, Name: res.Name, Status: string(res.Status), StatusMessage: res.Message,
			Inputs: res.Inputs, Outputs: res.Outputs}, nil
	}
	h.open = append(h.open, p)
	return p, nil
}

// fetchStored reads back a recorded connection result too large for the workflow
// task that recorded it, as connectResult does.
func (h *flowHost) fetchStored(ctx workflow.Context, id string, size int) (ConnectResult, error) {
	if err := h.checkHistory(); err != nil {
		return ConnectResult{}, err
	}
	h.room(ctx, size)
	var full ConnectResult
	if err := workflow.ExecuteLocalActivity(ctx, activityConnect, ConnectInput{ChildID: id, Fetch: true}).Get(ctx, &full); err != nil {
		return ConnectResult{}, err
	}
	h.spent(size)
	return full, nil
}

// replayFlow returns the recorded child execution that the replay's next child flow
// replays, or the divergence when there is none of that name.
func (h *flowHost) replayFlow(req scripting.FlowRequest) (string, error) {
	r := h.replay
	if r.diverged != "" {
		return "", errors.New(r.diverged)
	}
	r.flows++
	if r.flows > len(r.plan.Flows) {
		return "", r.diverge(fmt.Sprintf("replay diverged at child flow #%d: recorded nothing (the original execution started %d child flows), requested %s %s",
			r.flows, len(r.plan.Flows), req.Name, shownJSON(req.Inputs)))
	}
	step := r.plan.Flows[r.flows-1]
	if step.Name != req.Name {
		return "", r.diverge(fmt.Sprintf("replay diverged at child flow #%d: recorded flow %s, requested flow %s %s",
			r.flows, step.Name, req.Name, shownJSON(req.Inputs)))
	}
	return childID(r.source, step.N), nil
}

// replayMessage answers this.message with the recorded answer; a message that
// timed out times out again, at once.
func (h *flowHost) replayMessage(req scripting.MessageRequest) (any, error) {
	r := h.replay
	r.messages++
	var a *MessageAnswer
	if r.messages <= len(r.plan.Answers) {
		a = r.plan.Answers[r.messages-1]
	}
	if a == nil {
		if req.Timeout > 0 {
			h.now = h.now.Add(req.Timeout)
			return nil, scripting.ErrTimeout
		}
		return nil, r.diverge(fmt.Sprintf("replay diverged at message #%d (%q): no answer to it was recorded (the original execution ended waiting, or its history is past Temporal's retention)",
			r.messages, req.Subject))
	}
	h.advance(a.AnsweredAt)
	return a.Answer, nil
}

// setting returns a setting the replay saved; false on a nil replaying.
func (r *replaying) setting(name string) (any, bool) {
	if r == nil {
		return nil, false
	}
	raw, ok := r.settings[name]
	if !ok {
		return nil, false
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil, false
	}
	return v, true
}

// saveSetting keeps a setting in the replay: a replay writes no state.
func (r *replaying) saveSetting(name string, raw json.RawMessage) error {
	if err := ValidName("setting", name); err != nil {
		return errors.New(ErrorMessage(err))
	}
	r.settings[name] = raw
	return nil
}

// file returns a file the replay saved; false on a nil replaying.
func (r *replaying) file(name string) ([]byte, bool) {
	if r == nil {
		return nil, false
	}
	c, ok := r.files[name]
	return c, ok
}

// saveFile keeps a file in the replay.
func (r *replaying) saveFile(name string, content []byte) error {
	if err := ValidName("file", name); err != nil {
		return errors.New(ErrorMessage(err))
	}
	r.files[name] = slices.Clone(content)
	return nil
}

// optional returns a pointer to s, or nil when s is empty.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// TemporalAnswers reads the answers to an execution's messages from its workflow's
// history in Temporal: the message signals, each the first one that names its
// message (a later one was dropped by the workflow, as an answer to an earlier message
// that arrived late is). A history past the namespace's retention gives none.
type TemporalAnswers struct {
	Client client.Client
}

// Answers returns the recorded answers by message number; nil where none arrived.
// It returns no error for an execution whose history Temporal no longer has.
func (t TemporalAnswers) Answers(ctx context.Context, executionID string) ([]*MessageAnswer, error) {
	it := t.Client.GetWorkflowHistory(ctx, executionID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var answers []*MessageAnswer
	dc := converter.GetDefaultDataConverter()
	for it.HasNext() {
		ev, err := it.Next()
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
		sig := ev.GetWorkflowExecutionSignaledEventAttributes()
		if sig == nil || sig.GetSignalName() != SignalMessage {
			continue
		}
		var a MessageAnswer
		if err := dc.FromPayloads(sig.GetInput(), &a); err != nil || a.ID < 1 || a.ID > maxRecordedMessages {
			continue
		}
		for len(answers) < a.ID {
			answers = append(answers, nil)
		}
		if answers[a.ID-1] == nil {
			answers[a.ID-1] = &a
		}
	}
	return answers, nil
}

// maxRecordedMessages bounds the message numbers read from a history: an answer
// names its message, and a number past any a script can reach is ignored.
const maxRecordedMessages = 10000
