package engine

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
)

// PrepareFlowInput records a child flow execution before its workflow starts.
type PrepareFlowInput struct {
	ParentID string         `json:"parent_id"`
	RootID   string         `json:"root_id"`
	ChildID  string         `json:"child_id"`
	Flow     string         `json:"flow"`
	Inputs   map[string]any `json:"inputs"`
	At       time.Time      `json:"at"`
	Logs     []LogLine      `json:"logs,omitempty"`
	// ReplayOf is the recorded child execution that a replay's child replays.
	ReplayOf string `json:"replay_of,omitempty"`
}

// PrepareFlowResult is the revision the child runs, or why it cannot.
type PrepareFlowResult struct {
	Revision int    `json:"revision"`
	Script   string `json:"script"`
	Error    string `json:"error,omitempty"`
	// MaxRuntime is the child flow's own maximum runtime in seconds (0: none set).
	MaxRuntime int `json:"max_runtime,omitempty"`
	// Inputs are the child's inputs completed with the defaults of its
	// inputs_schema; nil when it declares none (the inputs run as given).
	Inputs map[string]any `json:"inputs,omitempty"`
}

// PrepareFlow resolves the child flow's latest revision and records its PENDING FLOW
// execution (createPending). Run again after a crash, it keeps the revision recorded
// the first time.
func (a *Activities) PrepareFlow(ctx context.Context, in PrepareFlowInput) (PrepareFlowResult, error) {
	if len(in.Logs) > 0 {
		if err := a.Store.Record(ctx, Progress{Logs: in.Logs}); err != nil {
			return PrepareFlowResult{}, err
		}
	}
	parent := in.ParentID
	run, err := createPending(ctx, a.Store, pendingFlow{ID: in.ChildID, RootID: in.RootID, ParentID: &parent, Flow: in.Flow,
		Inputs: in.Inputs, Trigger: TriggerParent, At: in.At, ReplayOf: optional(in.ReplayOf)})
	switch {
	case ErrorCode(err) == ENotFound:
		return PrepareFlowResult{Error: fmt.Sprintf("there is no flow named %q; save it first (PUT /api/v1/flows/%s) or check the name", in.Flow, in.Flow)}, nil
	case ErrorCode(err) == EInvalid:
		return PrepareFlowResult{Error: "the child's inputs cannot be stored: " + ErrorMessage(err)}, nil
	case ErrorCode(err) == EInvalidInputs:
		return PrepareFlowResult{Error: "the child's inputs are not valid: " + ErrorMessage(err)}, nil
	case err != nil:
		return PrepareFlowResult{}, err
	case run.Execution.Status.Ended():
		// Ended before its workflow started (the reconciler found its parent gone).
		return PrepareFlowResult{Error: "the child flow cannot start: " + run.Execution.StatusMessage}, nil
	}
	res := PrepareFlowResult{Revision: run.Revision, Script: run.Script, MaxRuntime: run.MaxRuntime}
	if run.Checked {
		res.Inputs = run.Inputs
	}
	return res, nil
}

// stateStore returns the settings and files store, or an error that says it is missing.
func (a *Activities) stateStore() (StateStore, error) {
	if a.State == nil {
		return nil, temporal.NewNonRetryableApplicationError("settings and files are not configured on this worker", "config", nil)
	}
	return a.State, nil
}

// GetSetting reads a setting for system.setting(name).get('value').
func (a *Activities) GetSetting(ctx context.Context, name string) (StateResult, error) {
	st, err := a.stateStore()
	if err != nil {
		return StateResult{}, err
	}
	s, err := st.GetSetting(ctx, name)
	if ErrorCode(err) == ENotFound {
		return StateResult{}, nil
	}
	if err != nil {
		return StateResult{}, err
	}
	return StateResult{Found: true, Value: s.Value}, nil
}

// SaveSetting stores a setting for system.setting(name).save(value).
func (a *Activities) SaveSetting(ctx context.Context, in SaveStateInput) (StateResult, error) {
	st, err := a.stateStore()
	if err != nil {
		return StateResult{}, err
	}
	if err := ValidName("setting", in.Name); err != nil {
		return StateResult{}, temporal.NewNonRetryableApplicationError(ErrorMessage(err), "invalid", nil)
	}
	_, err = st.SaveSetting(ctx, in.Name, in.Value)
	return StateResult{Found: true}, err
}

// GetFile reads a file for system.file(name).
func (a *Activities) GetFile(ctx context.Context, name string) (StateResult, error) {
	st, err := a.stateStore()
	if err != nil {
		return StateResult{}, err
	}
	f, err := st.GetFile(ctx, name)
	if ErrorCode(err) == ENotFound {
		return StateResult{}, nil
	}
	if err != nil {
		return StateResult{}, err
	}
	if len(f.Content) > MaxFileBytes {
		// Its content would not fit in the workflow history.
		return StateResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"file %q is %d bytes, too large for a flow to read (the limit is %d); send it on as a multipart file part of a REST call, or download it with GET /api/v1/files/%s",
			name, len(f.Content), MaxFileBytes, name), "invalid", nil)
	}
	return StateResult{Found: true, Content: f.Content}, nil
}

// SaveFile stores a file for system.file(name).save_*_content.
func (a *Activities) SaveFile(ctx context.Context, in SaveStateInput) (StateResult, error) {
	st, err := a.stateStore()
	if err != nil {
		return StateResult{}, err
	}
	if _, err := st.SaveFile(ctx, in.Name, in.Content); err != nil {
		if ErrorCode(err) == EInvalid {
			return StateResult{}, temporal.NewNonRetryableApplicationError(ErrorMessage(err), "invalid", nil)
		}
		return StateResult{}, err
	}
	return StateResult{Found: true}, nil
}
