package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIListings runs the flowd binary as an API client: `flows` and `executions`
// print tables with a header, `executions` lists the runs started from outside unless
// --children is given, and a broken script's error names its place once.
func TestCLIListings(t *testing.T) {
	b := backends[0]
	flow := unique("cli_list")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	defer target.Close()
	pushFlow(t, b.api, flow, `function handler(system, inputs) { this.connect({connector_type: 'REST', url: inputs.url}); return {ok: true}; }`)
	e := runFlow(t, b.api, flow, map[string]any{"url": target.URL})
	if e.Status != "ENDED_SUCCESS" {
		t.Fatalf("run: %s %s", e.Status, e.StatusMessage)
	}
	env := []string{"FLOWD_URL=" + b.app.URL, "FLOWD_CLIENT_ID=" + adminID, "FLOWD_CLIENT_SECRET=" + adminSecret}
	run := func(args ...string) (string, error) {
		out, err := flowdCommand(t, env, args...).CombinedOutput()
		return string(out), err
	}

	out, err := run("flows")
	if err != nil || !strings.HasPrefix(out, "NAME") || !strings.Contains(out, flow) {
		t.Errorf("flowd flows: %v\n%s", err, out)
	}
	out, err = run("executions", "--flow", flow)
	if err != nil || !strings.HasPrefix(out, "ID") || !strings.Contains(out, e.ID) || strings.Contains(out, "CONNECTION") {
		t.Errorf("flowd executions --flow %s: want a header and the run without its connection: %v\n%s", flow, err, out)
	}
	// A connection is named after its connector, not the flow: the newest rows are
	// this run's.
	out, err = run("executions", "--children", "--limit", "2")
	if err != nil || !strings.Contains(out, "CONNECTION") {
		t.Errorf("flowd executions --children: want the connection too: %v\n%s", err, out)
	}

	bad := filepath.Join(t.TempDir(), unique("cli_bad")+".js")
	if err := os.WriteFile(bad, []byte("function handler(system, inputs) {\n  let x = ;\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = run("push", bad)
	if err == nil || strings.Count(out, "line 2") != 1 {
		t.Errorf("flowd push of a broken script: want an error naming line 2 once: %v\n%s", err, out)
	}
}
