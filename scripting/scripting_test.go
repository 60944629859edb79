package scripting_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowd/flowd/scripting"
)

// fakeHost records what a script does; connects answer from a table.
type fakeHost struct {
	now      time.Time
	logs     []string
	connects []scripting.ConnectRequest
	answer   func(scripting.ConnectRequest) (scripting.Child, error)
	settings map[string]any
	files    map[string][]byte
}

func (h *fakeHost) Now() time.Time { return h.now }

func (h *fakeHost) Sleep(d time.Duration) error {
	h.now = h.now.Add(d)
	return nil
}
func (h *fakeHost) Connect(req scripting.ConnectRequest) (scripting.Pending, error) {
	h.connects = append(h.connects, req)
	if h.answer != nil {
		c, err := h.answer(req)
		if err != nil {
			return nil, err
		}
		return done{c}, nil
	}
	return done{scripting.Child{ID: "c1", Name: "REST", Status: "ENDED_SUCCESS", Outputs: map[string]any{"json": map[string]any{"value": "ok"}}}}, nil
}

// done is a child that has ended already.
type done struct{ c scripting.Child }

func (d done) ID() string                     { return d.c.ID }
func (d done) Name() string                   { return d.c.Name }
func (d done) Wait() (scripting.Child, error) { return d.c, nil }

func (h *fakeHost) Flow(req scripting.FlowRequest) (scripting.Pending, error) {
	st := "ENDED_SUCCESS"
	if req.Inputs["fail"] == true {
		st = "ENDED_ERROR"
	}
	return done{scripting.Child{ID: "f-" + req.Name, Name: req.Name, Status: st, StatusMessage: "child says " + st, Inputs: req.Inputs, Outputs: map[string]any{"echo": req.Inputs}}}, nil
}

func (h *fakeHost) Message(req scripting.MessageRequest) (any, error) {
	if req.Timeout > 0 && req.Timeout < time.Second {
		return nil, scripting.ErrTimeout
	}
	return map[string]any{"approved": true, "subject": req.Subject}, nil
}

func (h *fakeHost) Setting(name string) (any, bool, error) {
	v, ok := h.settings[name]
	return v, ok, nil
}

func (h *fakeHost) SaveSetting(name string, v any) error {
	if h.settings == nil {
		h.settings = map[string]any{}
	}
	h.settings[name] = v
	return nil
}

func (h *fakeHost) File(name string) ([]byte, bool, error) {
	b, ok := h.files[name]
	return b, ok, nil
}

func (h *fakeHost) SaveFile(name string, b []byte) error {
	if h.files == nil {
		h.files = map[string][]byte{}
	}
	h.files[name] = b
	return nil
}
func (h *fakeHost) Log(level, msg string) bool {
	h.logs = append(h.logs, level+": "+msg)
	return false
}
func (h *fakeHost) FlushLogs()            {}
func (h *fakeHost) SetOutput(string, any) {}
func (h *fakeHost) Self() scripting.Child {
	return scripting.Child{ID: "self", Name: "t", Status: "RUNNING"}
}

func mustCompile(t *testing.T, src string) *scripting.Program {
	t.Helper()
	p, err := scripting.Compile("t", src)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

// start is the clock of a run's fake host when it starts.
var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func run(t *testing.T, src string, inputs map[string]any) (scripting.Outcome, *fakeHost) {
	t.Helper()
	h := &fakeHost{now: start}
	return scripting.Run(mustCompile(t, src), h, inputs, scripting.Options{Seed: 42}), h
}

func TestReturnRule(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"Object", `function handler(s, i) { return {a: i.x}; }`, `a=7`},
		{"Scalar", `function handler() { return 5; }`, `result=5`},
		{"Success", `function handler() { try { this.success('done'); } catch (e) {} return {no: 1}; }`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := run(t, tc.src, map[string]any{"x": 7})
			if out.Status != "ENDED_SUCCESS" {
				t.Fatalf("status %s: %s", out.Status, out.Message)
			}
			var got []string
			for k, v := range out.Outputs {
				got = append(got, fmt.Sprintf("%s=%v", k, v))
			}
			if strings.Join(got, ",") != tc.want {
				t.Fatalf("outputs %v, want %s", got, tc.want)
			}
		})
	}
}

func TestErrorEndsWithStack(t *testing.T) {
	out, _ := run(t, "function handler() {\n  const x = null;\n  return x.y;\n}", nil)
	if out.Status != "ENDED_ERROR" || !strings.Contains(out.Message, "t.js:3:") || !strings.Contains(out.Message, "TypeError") {
		t.Fatalf("got %s %q", out.Status, out.Message)
	}
}

func TestThisError(t *testing.T) {
	out, _ := run(t, `function handler() { try { this.error('bad input'); } finally { } return 1; }`, nil)
	if out.Status != "ENDED_ERROR" || out.Message != "bad input" {
		t.Fatalf("got %s %q", out.Status, out.Message)
	}
}

func TestCPUBudget(t *testing.T) {
	h := &fakeHost{}
	out := scripting.Run(mustCompile(t, `function handler() { for(;;){} }`), h, nil, scripting.Options{CPUBudget: 50 * time.Millisecond})
	if out.Status != "ENDED_ERROR" || !strings.Contains(out.Message, "without waiting") || !strings.Contains(out.Message, "t.js:1:") {
		t.Fatalf("got %s %q", out.Status, out.Message)
	}
}

func TestBudgetPausedWhileWaiting(t *testing.T) {
	h := &fakeHost{answer: func(scripting.ConnectRequest) (scripting.Child, error) {
		time.Sleep(120 * time.Millisecond) // a host call that blocks, as a workflow activity does
		return scripting.Child{Status: "ENDED_SUCCESS"}, nil
	}}
	src := `function handler() { for (let i = 0; i < 3; i++) this.connect({connector_type: 'REST', url: 'http://x'}); return {n: 3}; }`
	out := scripting.Run(mustCompile(t, src), h, nil, scripting.Options{CPUBudget: 100 * time.Millisecond})
	if out.Status != "ENDED_SUCCESS" {
		t.Fatalf("got %s %q", out.Status, out.Message)
	}
}

func TestRecursionBounded(t *testing.T) {
	out, _ := run(t, `function f(n) { return f(n + 1) + 1; } function handler() { return f(0); }`, nil)
	if out.Status != "ENDED_ERROR" || !strings.Contains(out.Message, "call stack") {
		t.Fatalf("got %s %q", out.Status, out.Message)
	}
}

func TestDeterministicTimeAndRandom(t *testing.T) {
	src := `function handler() { return {now: Date.now(), r: Math.random()}; }`
	a, _ := run(t, src, nil)
	b, _ := run(t, src, nil)
	if a.Outputs["now"] != float64(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli()) {
		t.Fatalf("now = %v", a.Outputs["now"])
	}
	if a.Outputs["r"] != b.Outputs["r"] {
		t.Fatalf("random differs: %v vs %v", a.Outputs["r"], b.Outputs["r"])
	}
}

func TestNoHostAccess(t *testing.T) {
	for _, expr := range []string{"require", "process", "setTimeout", "fetch", "XMLHttpRequest"} {
		out, _ := run(t, `function handler() { return typeof `+expr+`; }`, nil)
		if out.Outputs["result"] != "undefined" {
			t.Errorf("typeof %s = %v", expr, out.Outputs["result"])
		}
	}
}

func TestConnectErrorIsCatchable(t *testing.T) {
	h := &fakeHost{answer: func(scripting.ConnectRequest) (scripting.Child, error) {
		return scripting.Child{ID: "c9", Name: "REST", Status: "ENDED_ERROR", StatusMessage: "status 500"}, nil
	}}
	src := `function handler() { try { this.connect({connector_type: 'REST', url: 'http://x'}); } catch (e) { return {name: e.name, id: e.execution.get('id')}; } }`
	out := scripting.Run(mustCompile(t, src), h, nil, scripting.Options{})
	if out.Outputs["name"] != "ExecutionError" || out.Outputs["id"] != "c9" {
		t.Fatalf("got %v %q", out.Outputs, out.Message)
	}
	h.answer = func(scripting.ConnectRequest) (scripting.Child, error) {
		return scripting.Child{}, errors.New("unknown input 'x'")
	}
	out = scripting.Run(mustCompile(t, `function handler() { this.connect({connector_type: 'REST'}); }`), h, nil, scripting.Options{})
	if out.Status != "ENDED_ERROR" || !strings.Contains(out.Message, "unknown input") {
		t.Fatalf("got %s %q", out.Status, out.Message)
	}
}

func TestLogFormatsValues(t *testing.T) {
	_, h := run(t, `function handler() { this.log('a', {b: 1}, [2]); console.warn('w'); }`, nil)
	if strings.Join(h.logs, "|") != `info: a {"b":1} [2]|warn: w` {
		t.Fatalf("logs %q", h.logs)
	}
}

func TestCompileRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
		line            int
	}{
		{"Syntax", "function handler() {\n  return (;\n}", "syntax error", 2},
		{"NoHandler", "function main() {}", "no handler", 0},
		{"Nested", "function handler() { return " + strings.Repeat("(", 200000) + "1" + strings.Repeat(")", 200000) + "; }", "nested too deeply", 1},
		{"Unary", "function handler() { return " + strings.Repeat("!", 100000) + "1; }", "nested too deeply", 1},
		{"Huge", "function handler() {}\n//" + strings.Repeat("x", scripting.MaxScriptBytes), "limit", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scripting.Compile("t", tc.src)
			var se *scripting.ScriptError
			if !errors.As(err, &se) || !strings.Contains(se.Message, tc.want) || se.Line != tc.line {
				t.Fatalf("got %#v", err)
			}
		})
	}
}

func TestChildrenAndState(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"FlowWaits", `function handler() { return {v: this.flow('b', {x: 1}).get('output_value').echo.x}; }`, `v=1`},
		{"FlowFailsCatchable", `function handler() { try { this.flow('b', {fail: true}); } catch (e) { return {name: e.name, st: e.execution.get('status')}; } }`, `name=ExecutionError st=ENDED_ERROR`},
		{"FanOut", `function handler() {
  const a = this.flow('a', {}, {wait: false}), b = this.connect({connector_type: 'REST', url: 'x', wait: false});
  const all = this.wait_for(a, [b]);
  return {n: all.length, a: a.get('id'), b: b.get('status')};
}`, `a=f-a b=ENDED_SUCCESS n=2`},
		{"WaitForThrowsAfterAll", `function handler() {
  const a = this.flow('a', {fail: true}, {wait: false}), b = this.flow('b', {}, {wait: false});
  try { this.wait_for(a, b); } catch (e) { return {failed: e.execution.get('id'), b: b.get('status')}; }
}`, `b=ENDED_SUCCESS failed=f-a`},
		{"Message", `function handler() { return this.message({subject: 'ok?'}); }`, `approved=true subject=ok?`},
		{"MessageTimeout", `function handler() { try { this.message({subject: 'ok?', timeout: 0.5}); } catch (e) { return {name: e.name}; } }`, `name=TimeoutExceededError`},
		{"Setting", `function handler(system) {
  const s = system.setting('cursor');
  const before = s.get('value');
  s.save({page: 2});
  return {before: String(before), after: s.get('value').page};
}`, `after=2 before=undefined`},
		{"File", `function handler(system) {
  system.file('a.txt').save_text_content('héllo');
  return {b64: system.file('a.txt').get_base64_content(), text: system.file('a.txt').get_text_content()};
}`, `b64=aMOpbGxv text=héllo`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := run(t, tc.src, nil)
			if got := flat(out.Outputs); out.Status != "ENDED_SUCCESS" || got != tc.want {
				t.Fatalf("got %s %q %s, want %s", out.Status, out.Message, got, tc.want)
			}
		})
	}
}

func TestChildInputErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`function handler() { this.flow('b', 5); }`, "inputs must be an object"},
		{`function handler() { this.flow(); }`, "name must be"},
		{`function handler() { this.message({body: 'x'}); }`, "subject is required"},
		{`function handler() { this.wait_for({}); }`, "pass the handles"},
		{`function handler(system) { system.file('none').get_text_content(); }`, "no file named"},
	} {
		out, _ := run(t, tc.src, nil)
		if out.Status != "ENDED_ERROR" || !strings.Contains(out.Message, tc.want) || !strings.Contains(out.Message, "t.js:1:") {
			t.Errorf("%s: got %s %q, want an error with %q at its line", tc.src, out.Status, out.Message, tc.want)
		}
	}
}

// flat renders outputs as sorted "k=v" pairs.
func flat(m map[string]any) string {
	var got []string
	for k, v := range m {
		got = append(got, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(got)
	return strings.Join(got, " ")
}
