package engine

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestCreatePendingRuns: createPending runs a draft's script recording the latest
// revision, runs an older revision when asked, applies the defaults of the revision's
// inputs_schema, refuses bad inputs before recording anything, and answers a retry
// with the inputs recorded the first time.
func TestCreatePendingRuns(t *testing.T) {
	ctx := context.Background()
	v1Schema := json.RawMessage(`{"type": "object", "properties": {"color": {"type": "string", "default": "red"}}}`)
	v2Schema := json.RawMessage(`{"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}}`)
	m := &memStore{
		flows: map[string]Flow{"f": {Name: "f", Revision: 2, Script: "v2", InputsSchema: v2Schema}},
		revs: map[int]FlowRevision{1: {FlowName: "f", Revision: 1, Script: "v1", InputsSchema: v1Schema},
			2: {FlowName: "f", Revision: 2, Script: "v2", InputsSchema: v2Schema}},
		execs: map[string]Execution{},
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("Draft", func(t *testing.T) {
		run, err := createPending(ctx, m, pendingFlow{ID: "d", RootID: "d", Flow: "f", Inputs: map[string]any{"id": 1}, Trigger: TriggerDraft, At: at,
			Draft: &Draft{Script: "draft"}})
		if err != nil {
			t.Fatal(err)
		}
		if run.Script != "draft" || run.Revision != 2 || m.execs["d"].FlowRevision != 2 || m.execs["d"].Trigger != TriggerDraft || !run.Checked {
			t.Fatalf("got %+v, recorded %+v", run, m.execs["d"])
		}
		// A retry keeps the draft's script.
		if run, err := createPending(ctx, m, pendingFlow{ID: "d", RootID: "d", Flow: "f", Trigger: TriggerDraft, At: at, Draft: &Draft{Script: "draft"}}); err != nil || run.Script != "draft" {
			t.Fatalf("retry: %+v %v", run, err)
		}
	})
	t.Run("SameRevisionWithDefaults", func(t *testing.T) {
		orig := "o"
		run, err := createPending(ctx, m, pendingFlow{ID: "r", RootID: "r", Flow: "f", Trigger: TriggerRerun, At: at, Revision: 1, RerunOf: &orig})
		if err != nil {
			t.Fatal(err)
		}
		got := m.execs["r"]
		if run.Script != "v1" || got.FlowRevision != 1 || string(got.Inputs) != `{"color":"red"}` || got.RerunOf == nil || *got.RerunOf != "o" {
			t.Fatalf("got %+v, recorded %+v", run, got)
		}
		// A retry answers with the recorded inputs, defaults included.
		run, err = createPending(ctx, m, pendingFlow{ID: "r", RootID: "r", Flow: "f", Trigger: TriggerRerun, At: at, Revision: 1})
		if err != nil || run.Inputs["color"] != "red" || !run.Checked {
			t.Fatalf("retry: %+v %v", run, err)
		}
	})
	t.Run("ErrInvalidInputs", func(t *testing.T) {
		_, err := createPending(ctx, m, pendingFlow{ID: "bad", RootID: "bad", Flow: "f", Inputs: map[string]any{"id": "x"}, Trigger: TriggerAPI, At: at})
		var e *Error
		if ErrorCode(err) != EInvalidInputs || !asError(err, &e) || e.Field != "/id" {
			t.Fatalf("got %v", err)
		}
		if _, ok := m.execs["bad"]; ok {
			t.Fatal("a refused execution was recorded")
		}
	})
	t.Run("ErrUnknownRevision", func(t *testing.T) {
		if _, err := createPending(ctx, m, pendingFlow{ID: "u", RootID: "u", Flow: "f", Revision: 9, At: at}); ErrorCode(err) != ENotFound {
			t.Fatalf("got %v", err)
		}
	})
}

func asError(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}
