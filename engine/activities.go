package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/flowd/flowd/scripting"
)

// Connector runs one call of a connector type (connectors/rest for "REST"). It returns
// the outputs whenever a request was made, and an error when the call failed; the
// engine records both on the CONNECTION execution.
type Connector interface {
	Call(ctx context.Context, inputs map[string]any) (map[string]any, error)
}

// Activities are the workflow's side effects. They hold their dependencies; the
// workflow calls them by registered name.
type Activities struct {
	Store      Store
	Connectors map[string]Connector
	Log        *slog.Logger
	// Notify, when set, is told that an execution ended, so that an API call waiting
	// on it in this process answers at once.
	Notify func(executionID string)
	// Resolver resolves saved connectors, grants and secret references; nil
	// allows only inline calls without secrets.
	Resolver *Resolver
	// Observer, when set, is told of flow executions beginning and ending (metrics).
	Observer Observer
	// State holds settings and files (system.setting, system.file).
	State StateStore
	// Answers, when set, reads the answers a replayed execution's messages got
	// (engine/replay.go); without it a replay's this.message has no answers.
	Answers MessageAnswers
}

// BeginInput marks an execution RUNNING.
type BeginInput struct {
	ExecutionID string    `json:"execution_id"`
	At          time.Time `json:"at"`
}

// Begin marks the execution RUNNING.
func (a *Activities) Begin(ctx context.Context, in BeginInput) error {
	err := a.Store.Record(ctx, Progress{Updates: []ExecutionUpdate{{ID: in.ExecutionID, Status: StatusRunning, StartedAt: &in.At}}})
	if err == nil {
		a.observeBegan()
	}
	return err
}

// FinishInput ends an execution.
type FinishInput struct {
	ExecutionID string          `json:"execution_id"`
	Status      Status          `json:"status"`
	Message     string          `json:"message"`
	Outputs     json.RawMessage `json:"outputs"`
	At          time.Time       `json:"at"`
	Logs        []LogLine       `json:"logs,omitempty"`
}

// Finish records the execution's end, its outputs and its last log lines at once.
func (a *Activities) Finish(ctx context.Context, in FinishInput) error {
	msg := in.Message
	err := a.Store.Record(ctx, Progress{
		Logs:    in.Logs,
		Updates: []ExecutionUpdate{{ID: in.ExecutionID, Status: in.Status, StatusMessage: &msg, Outputs: in.Outputs, EndedAt: &in.At, Message: json.RawMessage("null")}},
	})
	if err == nil && a.Notify != nil {
		a.Notify(in.ExecutionID)
	}
	if err == nil {
		a.observeEnded(ctx, in)
	}
	return err
}

// SetStatusInput moves a running execution between RUNNING and WAITING.
type SetStatusInput struct {
	ExecutionID string    `json:"execution_id"`
	Status      Status    `json:"status"`
	Logs        []LogLine `json:"logs,omitempty"`
	// Message sets (a JSON object) or clears (null) the pending this.message.
	Message json.RawMessage `json:"message,omitempty"`
	// Outputs, when set, are the outputs set so far (this.set_output), shown while
	// the execution runs; unset when they did not change since the last write.
	Outputs json.RawMessage `json:"outputs,omitempty"`
}

// SetStatus records a status change of a running execution with its pending log
// lines and the outputs set so far.
func (a *Activities) SetStatus(ctx context.Context, in SetStatusInput) error {
	return a.Store.Record(ctx, Progress{Logs: in.Logs, Updates: []ExecutionUpdate{{ID: in.ExecutionID, Status: in.Status, Message: in.Message, Outputs: in.Outputs}}})
}

// FlushLogs writes log lines; seqs already written are skipped.
func (a *Activities) FlushLogs(ctx context.Context, logs []LogLine) error {
	return a.Store.Record(ctx, Progress{Logs: logs})
}

// ConnectInput is one connector call of a flow.
type ConnectInput struct {
	ParentID      string          `json:"parent_id"`
	RootID        string          `json:"root_id"`
	ChildID       string          `json:"child_id"`
	Connector     string          `json:"connector,omitempty"` // a saved connector's name
	Inputs        map[string]any  `json:"inputs"`
	At            time.Time       `json:"at"`
	Logs          []LogLine       `json:"logs,omitempty"`           // the parent's lines so far
	ParentOutputs json.RawMessage `json:"parent_outputs,omitempty"` // set_output so far

	// Secrets are the places of the script's system.secret handles in Inputs.
	Secrets []scripting.SecretRef `json:"secrets,omitempty"`

	// InlineBytes, when set, is the largest result returned whole; a larger one is
	// returned Stored, and the workflow reads it back with Fetch (engine/tasks.go).
	InlineBytes int `json:"inline_bytes,omitempty"`
	// Fetch asks for the stored result of the ended connection ChildID; nothing runs.
	Fetch bool `json:"fetch,omitempty"`
}

// ConnectResult is the ended CONNECTION execution as the script sees it.
type ConnectResult struct {
	Name       string         `json:"name"`
	Status     Status         `json:"status"`
	Message    string         `json:"message"`
	Inputs     map[string]any `json:"inputs"`
	Outputs    map[string]any `json:"outputs"`
	EndedAt    time.Time      `json:"ended_at"`
	InputError string         `json:"input_error,omitempty"`
	// Stored is set when the result was larger than the call's InlineBytes: Inputs
	// and Outputs are left out, and Size is the whole result's size as JSON.
	Stored bool `json:"stored,omitempty"`
	Size   int  `json:"size,omitempty"`
}

// maxOutputBytes keeps a connection's outputs well under Temporal's 2 MB payload
// limit. A response body larger than inlineBodyBytes goes to a stored file
// instead (see callContext), so this is reached only by huge headers or
// paginated items.
const maxOutputBytes = 1 << 20

// Connect records the CONNECTION execution, runs the connector and records how it
// ended. A connector failure is a result (the child ended ENDED_ERROR), not an activity
// error: the connector has done its own retries. Only a store failure is an error, and
// Temporal retries the activity; the child's id makes that retry create no second row.
func (a *Activities) Connect(ctx context.Context, in ConnectInput) (ConnectResult, error) {
	if in.Fetch {
		prev, err := a.Store.GetExecution(ctx, in.ChildID)
		if err != nil {
			return ConnectResult{}, err
		}
		return storedResult(prev)
	}
	// Secrets are resolved here and nowhere else: in.Inputs, the recorded rows and
	// the result (which goes into the workflow history) hold references and
	// redacted text only.
	call, err := a.Resolver.Prepare(ctx, in.Connector, in.Inputs, in.Secrets)
	if ErrorCode(err) == EUnprocessable {
		return ConnectResult{InputError: err.Error()}, a.FlushParent(ctx, in)
	} else if err != nil {
		return ConnectResult{}, err // the store is down: Temporal retries
	}
	red := call.Redactor
	inputs := red.Map(call.Inputs)
	conn, ok := a.Connectors[call.Type]
	if !ok {
		typ, _ := call.Inputs["connector_type"].(string)
		return ConnectResult{InputError: fmt.Sprintf("unknown connector_type %q; use one of: %s", typ, strings.Join(a.connectorTypes(), ", "))}, a.FlushParent(ctx, in)
	}
	// dst names a stored file: checked before the request is sent, as the store
	// would refuse the name only after the call.
	if dst, ok := call.Inputs["dst"].(string); ok && dst != "" {
		if err := ValidName("file", dst); err != nil {
			return ConnectResult{InputError: "input dst: " + ErrorMessage(err)}, a.FlushParent(ctx, in)
		}
	}
	name := call.Name
	rawInputs, _ := json.Marshal(inputs)
	parent := in.ParentID
	child := Execution{ID: in.ChildID, Type: TypeConnection, Name: name, Status: StatusRunning, ParentID: &parent,
		RootID: in.RootID, Inputs: rawInputs, Outputs: json.RawMessage("{}"), Trigger: TriggerParent, CreatedAt: in.At, StartedAt: &in.At}
	var created int64
	p := Progress{Create: []Execution{child}, Logs: in.Logs, Created: &created}
	if in.ParentOutputs != nil {
		p.Updates = []ExecutionUpdate{{ID: in.ParentID, Outputs: in.ParentOutputs}}
	}
	if err := a.Store.Record(ctx, p); err != nil {
		return ConnectResult{}, err
	}
	// A worker that crashed after the call ended but before the workflow recorded it
	// runs this again: answer from the stored row instead of calling twice.
	// Only a row that existed already can have ended: a new one needs no look.
	if created == 0 {
		prev, err := a.Store.GetExecution(ctx, in.ChildID)
		if err != nil {
			return ConnectResult{}, err
		}
		if prev.Status.Ended() {
			res, err := storedResult(prev)
			if err != nil {
				return ConnectResult{}, err
			}
			res.Inputs = inputs
			return inline(res, in.InlineBytes), nil
		}
		// The crashed run's tries are not this run's: clear them rather than show
		// them until this run's first try ends.
		if string(prev.Outputs) != "{}" {
			if err := a.Store.Record(ctx, Progress{Updates: []ExecutionUpdate{{ID: in.ChildID, Outputs: json.RawMessage("{}")}}}); err != nil {
				return ConnectResult{}, err
			}
		}
	}

	live := a.liveTries(ctx, in.ChildID, red)
	outputs, callErr := CallConnector(a.callContext(ctx, in.ChildID, red, live.report), conn, call.Resolved, call.Domains)
	live.stop()
	if ctx.Err() != nil && callErr != nil {
		return ConnectResult{}, ctx.Err() // the worker is stopping: let Temporal run it again
	}
	res := ConnectResult{Name: name, Status: StatusEndedSuccess, Inputs: inputs, Outputs: red.Map(outputs)}
	if res.Outputs == nil {
		res.Outputs = map[string]any{}
	}
	res.Outputs["execution_id"] = in.ChildID
	if callErr != nil {
		res.Status, res.Message = StatusEndedError, red.String(callErr.Error())
	}
	rawOut, err := json.Marshal(res.Outputs)
	if err != nil || len(rawOut) > maxOutputBytes {
		size := len(rawOut)
		res.Status = StatusEndedError
		res.Message = fmt.Sprintf("the outputs are too large to pass to the flow (%d bytes, limit %d): store the body in a file with the dst input, or ask the API for less (filters, page size, paginate.max_pages)", size, maxOutputBytes)
		res.Outputs = map[string]any{"execution_id": in.ChildID, "status_code": res.Outputs["status_code"]}
		rawOut, _ = json.Marshal(res.Outputs)
	}
	ended := time.Now().UTC()
	res.EndedAt = ended
	msg := res.Message
	if err := a.Store.Record(ctx, Progress{Updates: []ExecutionUpdate{{ID: in.ChildID, Status: res.Status, StatusMessage: &msg, Outputs: rawOut, EndedAt: &ended}}}); err != nil {
		return ConnectResult{}, err
	}
	return inline(res, in.InlineBytes), nil
}

// storedResult is the result of an ended connection as its row records it.
func storedResult(prev Execution) (ConnectResult, error) {
	res := ConnectResult{Name: prev.Name, Status: prev.Status, Message: prev.StatusMessage}
	if prev.EndedAt != nil {
		res.EndedAt = *prev.EndedAt
	}
	if err := json.Unmarshal(prev.Outputs, &res.Outputs); err != nil {
		return ConnectResult{}, fmt.Errorf("read the stored outputs of connection %s: %w", prev.ID, err)
	}
	if len(prev.Inputs) > 0 {
		if err := json.Unmarshal(prev.Inputs, &res.Inputs); err != nil {
			return ConnectResult{}, fmt.Errorf("read the stored inputs of connection %s: %w", prev.ID, err)
		}
	}
	return res, nil
}

// inline returns res whole when it is at most limit bytes as JSON (or limit is 0),
// else without its inputs and outputs, marked Stored: the workflow reads those back
// in a workflow task of their own.
func inline(res ConnectResult, limit int) ConnectResult {
	if limit <= 0 {
		return res
	}
	raw, err := json.Marshal(res)
	if err != nil || len(raw) <= limit {
		return res
	}
	return ConnectResult{Name: res.Name, Status: res.Status, Message: res.Message, EndedAt: res.EndedAt, Stored: true, Size: len(raw)}
}

// FlushParent records the parent's pending log lines and outputs when no child is
// created.
func (a *Activities) FlushParent(ctx context.Context, in ConnectInput) error {
	p := Progress{Logs: in.Logs}
	if in.ParentOutputs != nil {
		p.Updates = []ExecutionUpdate{{ID: in.ParentID, Outputs: in.ParentOutputs}}
	}
	if len(p.Logs) == 0 && len(p.Updates) == 0 {
		return nil
	}
	return a.Store.Record(ctx, p)
}

func (a *Activities) connectorTypes() []string {
	var names []string
	for k := range a.Connectors {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
