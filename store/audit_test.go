package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/store"
)

// TestAuditInRecord checks that an audit entry given to Record is written with the
// execution, that it is not written when the transaction fails, and that entries
// sharing one instant page through the cursor without loss or repeat.
func TestAuditInRecord(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Now().UTC()
	by := "schedule:nightly"
	exec := engine.Execution{ID: "run-1", Type: engine.TypeFlow, Name: "f", Status: engine.StatusPending, RootID: "run-1",
		Inputs: json.RawMessage("{}"), Outputs: json.RawMessage("{}"), Trigger: engine.TriggerSchedule, CreatedAt: at, StartedBy: &by}
	entry := engine.AuditEntry{At: at, Actor: by, ActorKind: "schedule", Action: "execution.start", TargetType: "execution", Target: "run-1"}
	if err := st.Record(ctx, engine.Progress{Create: []engine.Execution{exec}, Audit: []engine.AuditEntry{entry}}); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetExecution(ctx, "run-1")
	if err != nil || got.StartedBy == nil || *got.StartedBy != by {
		t.Fatalf("execution: %+v, %v", got, err)
	}
	items, _, err := st.ListAudit(ctx, engine.AuditFilter{Actor: by})
	if err != nil || len(items) != 1 || items[0].Target != "run-1" || string(items[0].Detail) != "{}" || items[0].ID == "" {
		t.Fatalf("audit: %+v, %v", items, err)
	}

	// Two entries with one id: the second write fails, and Record writes nothing.
	dup := entry
	dup.ID, dup.Target = items[0].ID, "run-2"
	exec2 := exec
	exec2.ID, exec2.RootID = "run-2", "run-2"
	if err := st.Record(ctx, engine.Progress{Create: []engine.Execution{exec2}, Audit: []engine.AuditEntry{dup}}); err == nil {
		t.Fatal("Record with a duplicate audit id succeeded")
	}
	if _, err := st.GetExecution(ctx, "run-2"); engine.ErrorCode(err) != engine.ENotFound {
		t.Fatalf("execution of a failed Record: %v", err)
	}

	// Five entries at one instant: pages of two, newest (greatest id) first.
	same := time.Now().UTC()
	for range 5 {
		if err := st.WriteAudit(ctx, engine.AuditEntry{At: same, Actor: "client:pager", ActorKind: "client", Action: "setting.save", Target: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		items, next, err := st.ListAudit(ctx, engine.AuditFilter{Actor: "client:pager", Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range items {
			if seen[e.ID] {
				t.Fatalf("entry %s twice", e.ID)
			}
			seen[e.ID] = true
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(seen) != 5 || pages != 3 {
		t.Fatalf("%d entries in %d pages, want 5 in 3", len(seen), pages)
	}
	if _, _, err := st.ListAudit(ctx, engine.AuditFilter{Cursor: "garbage"}); engine.ErrorCode(err) != engine.EInvalid {
		t.Fatalf("bad cursor: %v", err)
	}
}
