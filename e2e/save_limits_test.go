package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// scriptError is the body of a 422 answer to a script that cannot be saved.
type scriptError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
	} `json:"error"`
}

// TestSaveLimits: scripts that would keep a core busy for minutes (or overflow the
// stack) when saved are refused with 422 and the line, whether the flow is new or
// an existing flow is updated; the flow keeps its last good revision.
func TestSaveLimits(t *testing.T) {
	const head = "function handler() { return {ok: true}; }\n"
	rep := func(s string, n int) string { return strings.Repeat(s, n) }
	cases := []struct{ name, script, want string }{
		{"arrows 100k", "x = " + rep("a=>", 100000) + "0;", "nested too deeply"},
		{"arrows 20k", "x = " + rep("a=>", 20000) + "0;", "nested too deeply"},
		{"void 50k", "x = " + rep("void ", 50000) + "0;", "nested too deeply"},
		{"if 100k", rep("if(a)", 100000) + "x;", "nested too deeply"},
		{"typeof 100k", "x = " + rep("typeof ", 70000) + "0;", "nested too deeply"},
		{"new 100k", "x = " + rep("new ", 100000) + "X;", "nested too deeply"},
		{"assignments 100k", rep("a=", 100000) + "0;", "nested too deeply"},
		{"ternaries", "x = " + rep("a?b:", 50000) + "c;", "nested too deeply"},
		{"unary", "x = " + rep("!-~+", 30000) + "a;", "nested too deeply"},
		{"while bodies", rep("while(a)", 60000) + "x;", "nested too deeply"},
		{"labels", rep("a:", 100000) + "x;", "labels"},
		{"templates", "x = " + rep("`${", 10000) + "a" + rep("}`", 10000) + ";", "nested too deeply"},
		{"binary chain", "x = " + rep("a+", 100000) + "a;", "operators"},
		{"optional chain", "x = a" + rep("?.b", 100000) + ";", "operators"},
		{"arrow parameters", "x = " + rep("(a=", 40) + "0" + rep(")=>0", 40) + ";", "arrow function parameter lists"},
		{"regex repetitions", "x = /" + rep("(?:", 300) + "a" + rep("){2}", 300) + "/;", "regular expressions"},
	}
	each(t, func(t *testing.T, b *backend) {
		existing := unique("save_limits")
		pushFlow(t, b.api, existing, head)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				script := head + tc.script
				for _, name := range []string{unique("save_limits_new"), existing} {
					var body scriptError
					st, err := b.api.call("PUT", "/api/v1/flows/"+name, map[string]string{"script": script}, &body)
					if err != nil {
						t.Fatal(err)
					}
					if st != http.StatusUnprocessableEntity || body.Error.Line != 2 || body.Error.Column == 0 || !strings.Contains(body.Error.Message, tc.want) {
						t.Fatalf("PUT %s: HTTP %d %+v, want 422 at line 2 with %q", name, st, body.Error, tc.want)
					}
				}
			})
		}
		// The refused saves left the existing flow as it was, and it still runs.
		var f struct {
			Script string `json:"script"`
		}
		b.api.must(t, "GET", "/api/v1/flows/"+existing, nil, &f, 200)
		if f.Script != head {
			t.Fatalf("a refused save changed the flow's script to %.80q", f.Script)
		}
		if e := runFlow(t, b.api, existing, nil); e.Status != "ENDED_SUCCESS" || e.Outputs["ok"] != true {
			t.Fatalf("the flow ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
		}
	})
}

// TestDurationLimits: this.sleep and this.message refuse durations that are not a
// finite number of seconds between 0 and one year with an error at the script's line
// (this.sleep(1e12) and this.sleep(Infinity) used to return at once with success).
func TestDurationLimits(t *testing.T) {
	cases := []struct{ name, call, want string }{
		{"sleep 1e12", "this.sleep(1e12)", "RangeError: this.sleep(seconds): seconds must be a number between 0 and 31622400 (one year), not 1000000000000"},
		{"sleep Infinity", "this.sleep(Infinity)", "RangeError: this.sleep(seconds): seconds must be a number between 0 and 31622400 (one year), not Infinity"},
		{"sleep NaN", "this.sleep(NaN)", "RangeError: this.sleep(seconds): seconds must be a number between 0 and 31622400 (one year), not NaN"},
		{"sleep negative", "this.sleep(-1)", "RangeError: this.sleep(seconds): seconds must be a number between 0 and 31622400 (one year), not -1"},
		{"sleep over a year", "this.sleep(366 * 24 * 3600 + 1)", "RangeError: this.sleep(seconds)"},
		{"sleep string", "this.sleep('60')", "TypeError: this.sleep(seconds): seconds must be a number"},
		{"message timeout 1e12", "this.message({subject: 'Approve?', timeout: 1e12})", "RangeError: this.message: timeout must be a number of seconds greater than 0 and at most 31622400 (one year), not 1000000000000"},
		{"message timeout Infinity", "this.message({subject: 'Approve?', timeout: Infinity})", "RangeError: this.message: timeout must be a number of seconds greater than 0 and at most 31622400 (one year), not Infinity"},
		{"message timeout NaN", "this.message({subject: 'Approve?', timeout: NaN})", "RangeError: this.message: timeout"},
		{"message timeout negative", "this.message({subject: 'Approve?', timeout: -5})", "RangeError: this.message: timeout"},
		{"message timeout string", "this.message({subject: 'Approve?', timeout: '60'})", "TypeError: this.message: timeout must be a number of seconds"},
	}
	each(t, func(t *testing.T, b *backend) {
		ordinary := unique("durations_ordinary")
		pushFlow(t, b.api, ordinary, "function handler() {\n  this.sleep(0.01);\n  return {ok: true};\n}")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				name := unique("durations")
				pushFlow(t, b.api, name, "function handler() {\n  this.log('before');\n  "+tc.call+";\n  return {reached: true};\n}")
				e := runFlow(t, b.api, name, nil)
				if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, tc.want) || !strings.Contains(e.StatusMessage, name+".js:3:") {
					t.Fatalf("ended %s %q, want ENDED_ERROR with %q at %s.js:3", e.Status, e.StatusMessage, tc.want, name)
				}
				if e.Outputs["reached"] != nil {
					t.Fatalf("the script went on after the refused duration: %v", e.Outputs)
				}
				if o := runFlow(t, b.api, ordinary, nil); o.Status != "ENDED_SUCCESS" || o.Outputs["ok"] != true {
					t.Fatalf("an ordinary flow next to it ended %s %q", o.Status, o.StatusMessage)
				}
			})
		}
	})
}
