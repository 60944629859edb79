package engine

import (
	"context"
	"encoding/json"
)

// StartDraft runs an unsaved script of the saved flow name once, with inputs, without
// creating a revision: the flow author's Run in the editor. The execution has trigger
// "draft", records the flow's latest revision (the one the draft was based on) as its
// flow_revision, is listed with the flow's executions, and runs with the limits of
// any execution. The inputs are checked against schema when it is set, else against
// the latest revision's inputs_schema. startedBy is recorded as in StartFlow.
//
// The caller has checked the script as a save would (the API runs the save-time
// checks first). It returns ENotFound, saying to save the flow first, when the flow
// does not exist, EInvalidInputs for inputs that do not fit, and StartFlow's errors.
func (e *Engine) StartDraft(ctx context.Context, name, script string, schema json.RawMessage, inputs map[string]any, startedBy string) (Execution, error) {
	if _, err := e.Store.GetFlow(ctx, name); ErrorCode(err) == ENotFound {
		return Execution{}, Errorf(ENotFound, "flow %q does not exist: a draft run tests changes to a saved flow, so save it first (PUT /api/v1/flows/%s), then run drafts of it", name, name)
	} else if err != nil {
		return Execution{}, err
	}
	return e.start(ctx, pendingFlow{Flow: name, Inputs: inputs, Trigger: TriggerDraft, Draft: &Draft{Script: script, InputsSchema: schema}, StartedBy: startedBy})
}

// Rerun values: which revision a re-run runs.
const (
	RerunLatest = "latest" // the flow's latest revision (the default)
	RerunSame   = "same"   // the revision the original execution ran
)

// Rerun starts the FLOW execution id again, with the inputs it was started with
// (defaults included), as a new root execution with trigger "rerun" whose rerun_of
// is id. revision is RerunLatest ("" too) or RerunSame; startedBy is recorded as in
// StartFlow.
//
// It returns ENotFound for an unknown execution or a flow deleted since, EInvalid
// for another revision value, for a CONNECTION execution (only flows are re-run),
// and for "same" of a draft run (its script was never saved), EInvalidInputs when
// the inputs no longer fit the revision's inputs_schema, and StartFlow's errors.
func (e *Engine) Rerun(ctx context.Context, id, revision, startedBy string) (Execution, error) {
	orig, err := e.Store.GetExecution(ctx, id)
	if err != nil {
		return Execution{}, err
	}
	if orig.Type != TypeFlow {
		parent := orig.RootID
		if orig.ParentID != nil {
			parent = *orig.ParentID
		}
		return Execution{}, Errorf(EInvalid, "execution %s is a %s (a connector call), which is not re-run on its own: re-run the flow execution that made it, %s", id, orig.Type, parent)
	}
	p := pendingFlow{Flow: orig.Name, Trigger: TriggerRerun, RerunOf: &orig.ID, StartedBy: startedBy}
	switch revision {
	case "", RerunLatest:
	case RerunSame:
		if orig.Trigger == TriggerDraft {
			return Execution{}, Errorf(EInvalid, `execution %s ran an unsaved draft, which flowd does not keep: re-run it with {"revision": "latest"}, or run the draft again from the editor`, id)
		}
		if orig.FlowRevision <= 0 {
			return Execution{}, Errorf(EInvalid, `execution %s never ran a revision of flow %s (it ended before it began): re-run it with {"revision": "latest"}`, id, orig.Name)
		}
		p.Revision = orig.FlowRevision
	default:
		return Execution{}, Errorf(EInvalid, `revision %q is not "latest" or "same": re-run with the flow's latest revision ({"revision": "latest"}, the default) or with the one execution %s ran ({"revision": "same"})`, shortText(revision), id)
	}
	if err := json.Unmarshal(orig.Inputs, &p.Inputs); err != nil {
		return Execution{}, Errorf(EInvalid, "the inputs of execution %s cannot be read back (%v); start the flow with POST /api/v1/flows/%s/executions instead", id, err, orig.Name)
	}
	return e.start(ctx, p)
}

// shortText cuts s to 64 bytes for an error message that echoes it.
func shortText(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
