package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/api/temporalproto"

	"github.com/flowd/flowd/engine"
)

// TestReplayLiveHistories replays the histories of flows run just now against the
// current workflow code. With FLOWD_RECORD_HISTORIES=<dir> it also writes them there
// (engine/testdata), where engine's replay test keeps checking them after every change.
func TestReplayLiveHistories(t *testing.T) {
	b := backends[0]
	flows := map[string]string{
		"replay_connects": `function handler(system, inputs) {
  this.log('start', Date.now(), Math.random());
  const a = this.connect({connector_type: 'REST', url: inputs.url});
  let failed = false;
  try { this.connect({connector_type: 'REST', url: inputs.url + '/nope'}); } catch (e) { failed = true; }
  this.set_output('joke', a.get('output_value').json.value.joke);
  console.warn('failed', failed);
  return this.success('done');
}`,
		"replay_error":   "function handler() {\n  this.log('about to fail');\n  null.x;\n}\n",
		"replay_runaway": "function handler() { for (;;) {} }",
		"replay_child":   "function handler() { return {n: 1}; }",
		"replay_features": `function handler(system, inputs) {
  this.sleep(0.01);
  const child = this.flow('replay_child', {}, {wait: false});
  const call = this.connect({connector_type: 'REST', url: inputs.url, wait: false});
  this.wait_for(child, call);
  const s = system.setting('replay_setting');
  s.save({n: (s.get('value') || {n: 0}).n + 1});
  system.file('replay.txt').save_text_content('hi');
  return {child: child.get('output_value').n, file: system.file('replay.txt').get_text_content()};
}`,
	}
	ids := map[string]string{}
	for name, script := range flows {
		pushFlow(t, b.api, name, script)
	}
	for name := range flows {
		e := runFlow(t, b.api, name, map[string]any{"url": b.app.URL + "/demo/jokes/random"})
		if name == "replay_features" && e.Status != "ENDED_SUCCESS" {
			t.Fatalf("%s ended %s: %s", name, e.Status, e.StatusMessage)
		}
		ids[name] = e.ID
	}
	// A run started by a schedule takes another path into the workflow.
	sched := unique("replay_sched")
	b.api.must(t, "PUT", "/api/v1/schedules/"+sched, map[string]any{"flow": "replay_child", "cron": "* * * * * * *"}, nil, 201)
	eventually(t, 30*time.Second, "the schedule runs the flow", func() (bool, string) {
		var page struct {
			Items []execution `json:"items"`
		}
		b.api.must(t, "GET", "/api/v1/executions?trigger=schedule&flow=replay_child&status=ENDED_SUCCESS", nil, &page, 200)
		if len(page.Items) == 0 {
			return false, "no scheduled run has ended"
		}
		ids["replay_scheduled"] = page.Items[0].ID
		return true, ""
	})
	b.api.must(t, "DELETE", "/api/v1/schedules/"+sched, nil, nil, 204)

	dir := os.Getenv("FLOWD_RECORD_HISTORIES")
	replayer := engine.NewReplayer()
	for name, id := range ids {
		hist := historyOf(t, b, id)
		if len(hist.Events) < 3 {
			t.Fatalf("%s: history has %d events", name, len(hist.Events))
		}
		if err := replayer.ReplayWorkflowHistory(nil, hist); err != nil {
			t.Fatalf("replay %s: %v", name, err)
		}
		if dir != "" {
			data, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".json"), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
