package engine

import (
	"path/filepath"
	"testing"
)

// TestReplayRecordedHistories replays histories recorded from real runs (regenerate
// them with FLOWD_RECORD_HISTORIES=$PWD/engine/testdata go test ./e2e -run Replay).
// A change to the workflow that breaks determinism fails here, before it breaks the
// executions running in production.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in engine/testdata: record them as the comment above says")
	}
	r := NewReplayer()
	for _, f := range files {
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
