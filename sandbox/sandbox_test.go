package sandbox_test

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowd/flowd/sandbox"
	"github.com/flowd/flowd/scripting"
)

// The test binary is its own sandbox program: started by the pool with the sandbox
// environment, it serves scripts instead of running the tests.
func TestMain(m *testing.M) {
	if sandbox.IsChild() {
		if os.Getenv("SANDBOX_TEST_SPIN") == "1" {
			for { // a built-in stuck in Go: it never looks at an interrupt
			}
		}
		sandbox.ServeChild()
	}
	os.Exit(m.Run())
}

func newPool(t *testing.T, limit int64) *sandbox.Pool {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &sandbox.Pool{Binary: self, MemoryLimit: limit}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// host is a unit-test Host: connects succeed at once with the inputs as outputs.
type host struct {
	mu      sync.Mutex
	now     time.Time
	logs    []string
	outputs map[string]any
	slept   time.Duration
	onSleep func()
}

func (h *host) Now() time.Time { return h.now }
func (h *host) Connect(req scripting.ConnectRequest) (scripting.Pending, error) {
	if req.Inputs["url"] == "bad" {
		return nil, &scripting.InputError{Message: "bad url"}
	}
	return &done{id: "c1", name: "REST", child: scripting.Child{ID: "c1", Name: "REST", Status: "ENDED_SUCCESS", Outputs: req.Inputs}}, nil
}
func (h *host) Flow(req scripting.FlowRequest) (scripting.Pending, error) {
	return &done{id: "f1", name: req.Name, child: scripting.Child{ID: "f1", Name: req.Name, Status: "ENDED_ERROR", StatusMessage: "boom"}}, nil
}
func (h *host) Message(req scripting.MessageRequest) (any, error) {
	if req.Timeout == time.Second {
		return nil, scripting.ErrTimeout
	}
	return map[string]any{"subject": req.Subject}, nil
}
func (h *host) Setting(name string) (any, bool, error) { return map[string]any{"n": name}, true, nil }
func (h *host) SaveSetting(string, any) error          { return nil }
func (h *host) File(name string) ([]byte, bool, error) {
	return []byte("content of " + name), true, nil
}
func (h *host) SaveFile(string, []byte) error { return nil }
func (h *host) Sleep(d time.Duration) error {
	if h.onSleep != nil {
		h.onSleep()
	}
	h.slept += d
	h.now = h.now.Add(d)
	return nil
}
func (h *host) Log(level, message string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.logs = append(h.logs, level+" "+message)
	return false
}
func (h *host) FlushLogs() {}
func (h *host) SetOutput(key string, value any) {
	if h.outputs == nil {
		h.outputs = map[string]any{}
	}
	h.outputs[key] = value
}
func (h *host) Self() scripting.Child {
	return scripting.Child{ID: "e1", Name: "t", Status: "RUNNING", Inputs: map[string]any{"a": 1.0}}
}

type done struct {
	id, name string
	child    scripting.Child
}

func (d *done) ID() string                     { return d.id }
func (d *done) Name() string                   { return d.name }
func (d *done) Wait() (scripting.Child, error) { return d.child, nil }

func job(script string) scripting.Job {
	return scripting.Job{Name: "t", Script: script, ExecutionID: "e-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		Options: scripting.Options{CPUBudget: 300 * time.Millisecond, Seed: 1}}
}

// A script in a sandbox sees the same flow API as in process: every Host call crosses
// the pipe, with its errors.
func TestSandboxRunsTheFlowAPI(t *testing.T) {
	p := newPool(t, 0)
	script := `function handler(system, inputs) {
  console.log('start', inputs.x);
  const c = this.connect({connector_type: 'REST', url: 'http://example/' + inputs.x});
  this.set_output('stage', 'connected');
  let typeErr = '';
  try { this.connect({connector_type: 'REST', url: 'bad'}); } catch (e) { typeErr = e.name + ': ' + e.message; }
  let flowErr = '';
  try { this.flow('child', {}); } catch (e) { flowErr = e.name; }
  let timeout = '';
  try { this.message({subject: 'q', timeout: 1}); } catch (e) { timeout = e.name; }
  const t0 = Date.now();
  this.sleep(60);
  return {url: c.get('output_value').url, self: this.get('input_value').a, typeErr, flowErr, timeout,
    answer: this.message({subject: 'hi'}).subject, setting: system.setting('s').get('value').n,
    file: system.file('f').get_text_content(), slept: Date.now() - t0, stage: this.get('output_value').stage};
}`
	for i := range 3 { // the same sandbox serves one script after another
		h := &host{now: time.Unix(1000, 0)}
		j := job(script)
		j.Inputs = map[string]any{"x": "y"}
		got := p.Run(j, h)
		want := scripting.RunJob(j, &host{now: time.Unix(1000, 0)})
		if got.Status != "ENDED_SUCCESS" {
			t.Fatalf("run %d: %+v", i, got)
		}
		for k, v := range want.Outputs {
			if got.Outputs[k] != v {
				t.Errorf("run %d: output %s = %v, in process %v", i, k, got.Outputs[k], v)
			}
		}
		if got.Outputs["slept"] != 60000.0 || got.Outputs["typeErr"] != "ConnectError: this.connect: bad url" || got.Outputs["timeout"] != "TimeoutExceededError" {
			t.Errorf("run %d: %+v", i, got.Outputs)
		}
		if len(h.logs) != 1 || h.logs[0] != "info start y" || h.outputs["stage"] != "connected" {
			t.Errorf("run %d: logs %q outputs %v", i, h.logs, h.outputs)
		}
	}
	if st := p.Stats(); st.Killed != 0 {
		t.Errorf("stats %+v: no sandbox should have been killed", st)
	}
}

// An allocation past the memory limit ends the script with a message that names the
// limit, and the pool goes on with a fresh sandbox.
func TestSandboxMemoryLimit(t *testing.T) {
	p := newPool(t, 64<<20)
	for _, script := range []string{
		// Each allocation stays under the runtime's own size guards (64 MiB per
		// buffer, 16 Mi characters per string): only the memory limit stops them.
		`function handler() { const a = []; for (let i = 0; i < 100; i++) a.push(new Uint8Array(16e6)); return {n: a.length}; }`,
		`function handler() { const a = []; for (let i = 0; i < 100; i++) a.push(new ArrayBuffer(60e6)); return {n: a.length}; }`,
		`function handler() { const a = []; for (let i = 0; i < 100; i++) a.push('x'.repeat(16e6 - i)); return {n: a.length}; }`,
	} {
		// A budget of a few seconds: on a loaded machine, filling 64 MiB can take more
		// than the default 300 ms of CPU, and this test is about the memory limit.
		j := job(script)
		j.Options.CPUBudget = 3 * time.Second
		got := runRetried(p, j, &host{})
		if got.Status != "ENDED_ERROR" || !strings.Contains(got.Message, "more than 64 MiB of memory (--script-memory-limit)") {
			t.Errorf("%s\n  got %+v", script, got)
		}
	}
	if got := p.Run(job(`function handler() { return {ok: true}; }`), &host{}); got.Outputs["ok"] != true {
		t.Fatalf("an ordinary script after the others: %+v", got)
	}
}

// runRetried runs a job as Temporal would: once more when Run panics (a sandbox that
// crashed without saying why; rarely the Go runtime ends with a bare SIGSEGV instead of
// "out of memory" when an allocation fails).
func runRetried(p *sandbox.Pool, j scripting.Job, h scripting.Host) (out scripting.Outcome) {
	func() {
		defer func() {
			if recover() != nil {
				out = p.Run(j, h)
			}
		}()
		out = p.Run(j, h)
	}()
	return out
}

// A built-in that loops in Go is not stopped by the runtime's interrupt: the pool
// kills the sandbox when the step's CPU time runs out. The sandbox here is the test
// binary spinning in Go; the wall-clock limit is far away, so only the CPU limit can
// stop it.
func TestSandboxStopsBuiltinsThatLoopInGo(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	wrapper := t.TempDir() + "/spin"
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nSANDBOX_TEST_SPIN=1 exec "+self+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := &sandbox.Pool{Binary: wrapper, WallLimit: 10 * time.Minute}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	got := p.Run(job(`function handler() { return {}; }`), &host{})
	if got.Status != "ENDED_ERROR" || !strings.Contains(got.Message, "of CPU time without waiting and was stopped") {
		t.Fatalf("got %+v", got)
	}
	if st := p.Stats(); st.Killed == 0 {
		t.Fatalf("the sandbox was not killed: %+v", st)
	}
}

// A catastrophic regular expression in a real script ends the execution, whichever
// limit stops it first on this machine.
func TestSandboxStopsRegex(t *testing.T) {
	p := newPool(t, 0)
	got := p.Run(job(`function handler() { this.set_output('before', 1); return {m: /^(a+)+\1$/.test('a'.repeat(40) + '!')}; }`), &host{})
	if got.Status != "ENDED_ERROR" || !strings.Contains(got.Message, "was stopped") || got.Outputs["before"] != 1.0 {
		t.Fatalf("got %+v", got)
	}
}

// A sandbox that dies for no reason the script shows fails the workflow task the first
// time (Run panics, Temporal retries) and ends the execution the second time.
func TestSandboxCrashTwiceEndsTheExecution(t *testing.T) {
	p := newPool(t, 0)
	h := &host{onSleep: killSandboxes}
	j := job(`function handler() { this.sleep(1); return {}; }`)
	panicked := func() (msg any) {
		defer func() { msg = recover() }()
		p.Run(j, h)
		return nil
	}()
	t.Logf("first: %v", panicked)
	if s, _ := panicked.(string); !strings.Contains(s, "crashed") {
		t.Fatalf("first crash: want a panic that fails the task, got %v", panicked)
	}
	got := p.Run(j, h)
	if got.Status != "ENDED_ERROR" || !strings.Contains(got.Message, "crashed its sandbox twice") {
		t.Fatalf("second crash: %+v", got)
	}
	h.onSleep = nil
	if got := p.Run(job(`function handler() { this.sleep(1); return {ok: true}; }`), h); got.Outputs["ok"] != true {
		t.Fatalf("after the crashes: %+v", got)
	}
}

// killSandboxes kills this process's children: the sandboxes.
func killSandboxes() {
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(os.Getpid())).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	}
}

// The sandbox does not see the worker's environment (secrets keys, database URLs).
func TestSandboxEnvironmentIsClean(t *testing.T) {
	t.Setenv("FLOWD_SECRET_KEY", "do-not-leak")
	newPool(t, 0)
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(os.Getpid())).Output()
	seen := 0
	for _, pid := range strings.Fields(string(out)) {
		env, err := os.ReadFile("/proc/" + pid + "/environ")
		if err != nil || !strings.Contains(string(env), "FLOWD_SANDBOX=1") {
			continue
		}
		seen++
		if strings.Contains(string(env), "do-not-leak") {
			t.Errorf("sandbox %s sees the worker's environment: %q", pid, env)
		}
	}
	if seen == 0 {
		t.Fatal("no sandbox process found")
	}
}

// Saving a script checks it in a sandbox: a refusal keeps its place, and a script that
// compiles for longer than the limit is refused instead of holding the caller.
func TestSandboxCheck(t *testing.T) {
	p := newPool(t, 0)
	if err := p.Check("t", `function handler() { return 1; }`); err != nil {
		t.Fatalf("a good script: %v", err)
	}
	var se *scripting.ScriptError
	if err := p.Check("t", "function handler() {\n  return 1 +;\n}"); !errors.As(err, &se) || se.Line != 2 {
		t.Fatalf("a syntax error: %#v", err)
	}
	if err := p.Check("t", `function handler() { return this.connect({url: 'x', password: {secret: 'pw'}}); }`); !errors.As(err, &se) || !strings.Contains(se.Message, "system.secret") {
		t.Fatalf("{secret} in code: %#v", err)
	}
	// Long operator chains compile in time quadratic in their length: 190 operators,
	// under the shape limit of 200, repeated to 400 KiB.
	chain := "x = a" + strings.Repeat(" + a", 190) + ";\n"
	slow := "function handler() {}\nlet x, a = 1;\n" + strings.Repeat(chain, 400<<10/len(chain))
	p.CheckLimit = 20 * time.Millisecond
	err := p.Check("t", slow)
	t.Logf("slow script: %v", err)
	if !errors.As(err, &se) || !strings.Contains(se.Message, "to compile and is refused") {
		t.Fatalf("a script slow to compile: %#v", err)
	}
	p.CheckLimit = 0
	if err := p.Check("t", `function handler() { return 2; }`); err != nil {
		t.Fatalf("a good script after a refusal: %v", err)
	}
}

// A sandbox is the first process the kernel ends when the machine runs out of memory.
func TestSandboxIsFirstForTheOOMKiller(t *testing.T) {
	p := newPool(t, 0)
	if got := p.Run(job(`function handler() { return {}; }`), &host{}); got.Status != "ENDED_SUCCESS" {
		t.Fatalf("got %+v", got)
	}
	// Every sandbox sets its own score when it starts; spares may still be starting.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		out, _ := exec.Command("pgrep", "-P", strconv.Itoa(os.Getpid())).Output()
		seen, set := 0, 0
		for _, pid := range strings.Fields(string(out)) {
			env, err := os.ReadFile("/proc/" + pid + "/environ")
			if err != nil || !strings.Contains(string(env), "FLOWD_SANDBOX=1") {
				continue
			}
			seen++
			if adj, _ := os.ReadFile("/proc/" + pid + "/oom_score_adj"); strings.TrimSpace(string(adj)) == "1000" {
				set++
			}
		}
		if seen > 0 && set == seen {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d sandboxes have oom_score_adj 1000", set, seen)
		}
		<-tick.C
	}
}

// set_output past the outputs' limit stops the script at once, instead of piling the
// values up in the worker.
func TestSandboxOutputsAreBounded(t *testing.T) {
	p := newPool(t, 0)
	h := &host{}
	got := p.Run(job(`function handler() { const s = 'x'.repeat(300000); for (let i = 0; ; i++) this.set_output('k' + i, s); }`), h)
	if got.Status != "ENDED_ERROR" || !strings.Contains(got.Message, "outputs grew past 1048576 bytes") {
		t.Fatalf("got %s %q", got.Status, got.Message)
	}
	if len(h.outputs) > 4 {
		t.Fatalf("the worker kept %d outputs of 300 KB", len(h.outputs))
	}
	// Setting one key again and again replaces it: no limit is reached.
	got = p.Run(job(`function handler() { const s = 'x'.repeat(300000); for (let i = 0; i < 10; i++) this.set_output('k', s); return {}; }`), &host{})
	if got.Status != "ENDED_SUCCESS" {
		t.Fatalf("got %s %q", got.Status, got.Message)
	}
}

// The default number of cached executions keeps their memory limits within half the
// machine.
func TestDefaultCachedExecutions(t *testing.T) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	var totalKB int64
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			totalKB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	for _, limit := range []int64{64 << 20, 256 << 20, 1 << 30, 8 << 30} {
		n := sandbox.DefaultCachedExecutions(limit)
		if n < 16 || n > 128 || (n > 16 && int64(n)*limit > totalKB<<10/2) {
			t.Errorf("limit %d MiB: %d cached executions on %d MiB of memory", limit>>20, n, totalKB>>10)
		}
	}
}
