package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/store"
)

// TestListExecutionsTopLevel checks the top_level filter of GET /api/v1/executions:
// a root and its children are stored; only the root is listed with TopLevel.
func TestListExecutionsTopLevel(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := time.Now().UTC()
	root := "root-1"
	exec := func(id string, parent *string, typ engine.ExecutionType, trigger engine.Trigger) engine.Execution {
		return engine.Execution{ID: id, Type: typ, Name: "f", Status: engine.StatusEndedSuccess, ParentID: parent, RootID: root,
			Inputs: json.RawMessage("{}"), Outputs: json.RawMessage("{}"), Trigger: trigger, CreatedAt: at}
	}
	p := engine.Progress{Create: []engine.Execution{
		exec(root, nil, engine.TypeFlow, engine.TriggerAPI),
		exec("child-flow", &root, engine.TypeFlow, engine.TriggerParent),
		exec("child-conn", &root, engine.TypeConnection, engine.TriggerParent),
	}}
	if err := st.Record(ctx, p); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    engine.ExecutionFilter
		want []string
	}{
		{"TopLevel", engine.ExecutionFilter{TopLevel: true}, []string{root}},
		{"All", engine.ExecutionFilter{}, []string{"child-conn", "child-flow", root}},
		{"TopLevelFlow", engine.ExecutionFilter{TopLevel: true, Flow: "f"}, []string{root}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items, _, err := st.ListExecutions(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range items {
				got = append(got, e.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
