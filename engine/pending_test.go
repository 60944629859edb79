package engine

import (
	"context"
	"strings"
	"testing"
	"time"
)

// memStore is the part of Store that createPending uses, in memory.
type memStore struct {
	Store // nil: any other method panics
	flows map[string]Flow
	revs  map[int]FlowRevision
	execs map[string]Execution
}

func (m *memStore) GetFlow(_ context.Context, name string) (Flow, error) {
	if f, ok := m.flows[name]; ok {
		return f, nil
	}
	return Flow{}, Errorf(ENotFound, "no flow %s", name)
}

func (m *memStore) GetFlowRevision(_ context.Context, name string, rev int) (FlowRevision, error) {
	if r, ok := m.revs[rev]; ok && r.FlowName == name {
		return r, nil
	}
	return FlowRevision{}, Errorf(ENotFound, "no revision %d", rev)
}

func (m *memStore) GetExecution(_ context.Context, id string) (Execution, error) {
	if e, ok := m.execs[id]; ok {
		return e, nil
	}
	return Execution{}, Errorf(ENotFound, "no execution %s", id)
}

func (m *memStore) Record(_ context.Context, p Progress) error {
	for _, e := range p.Create {
		if _, ok := m.execs[e.ID]; !ok {
			m.execs[e.ID] = e
		}
	}
	return nil
}

// TestCreatePending: the one function that records PENDING executions keeps the
// revision of its first run on a retry, and the flow's max_runtime on both paths (the
// retry path of PrepareFlow used to lose it).
func TestCreatePending(t *testing.T) {
	ctx := context.Background()
	m := &memStore{
		flows: map[string]Flow{"f": {Name: "f", Revision: 1, Script: "v1", MaxRuntime: 90}},
		revs:  map[int]FlowRevision{1: {FlowName: "f", Revision: 1, Script: "v1"}, 2: {FlowName: "f", Revision: 2, Script: "v2"}},
		execs: map[string]Execution{},
	}
	parent := "p"
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := pendingFlow{ID: "c", RootID: "r", ParentID: &parent, Flow: "f", Inputs: map[string]any{"x": 1}, Trigger: TriggerParent, At: at}

	t.Run("OK", func(t *testing.T) {
		run, err := createPending(ctx, m, p)
		if err != nil {
			t.Fatal(err)
		}
		got := m.execs["c"]
		if got.Status != StatusPending || got.FlowRevision != 1 || *got.ParentID != "p" || got.RootID != "r" || got.Trigger != TriggerParent ||
			!got.CreatedAt.Equal(at) || string(got.Inputs) != `{"x":1}` || string(got.Outputs) != "{}" {
			t.Fatalf("recorded %+v", got)
		}
		if run.Revision != 1 || run.Script != "v1" || run.MaxRuntime != 90 || run.Execution.ID != "c" {
			t.Fatalf("answered %+v", run)
		}
	})
	t.Run("RetryKeepsRevisionAndMaxRuntime", func(t *testing.T) {
		// The flow was edited between the first try and the retry.
		m.flows["f"] = Flow{Name: "f", Revision: 2, Script: "v2", MaxRuntime: 90}
		run, err := createPending(ctx, m, p)
		if err != nil {
			t.Fatal(err)
		}
		if run.Revision != 1 || run.Script != "v1" || run.MaxRuntime != 90 {
			t.Fatalf("a retry answered %+v, want revision 1 with max_runtime 90", run)
		}
	})
	t.Run("Ended", func(t *testing.T) {
		e := m.execs["c"]
		e.Status, e.StatusMessage = StatusEndedCancelled, "gone"
		m.execs["c"] = e
		run, err := createPending(ctx, m, p)
		if err != nil || !run.Execution.Status.Ended() || run.Execution.StatusMessage != "gone" {
			t.Fatalf("got %+v, %v", run, err)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := createPending(ctx, m, pendingFlow{ID: "n", RootID: "n", Flow: "nosuch", At: at})
		if ErrorCode(err) != ENotFound {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ErrInputsTooLarge", func(t *testing.T) {
		_, err := createPending(ctx, m, pendingFlow{ID: "big", RootID: "big", Flow: "f", Inputs: map[string]any{"s": strings.Repeat("x", MaxInputBytes)}, At: at})
		if ErrorCode(err) != EInvalid {
			t.Fatalf("got %v", err)
		}
		if _, ok := m.execs["big"]; ok {
			t.Fatal("a refused execution was recorded")
		}
	})
}
