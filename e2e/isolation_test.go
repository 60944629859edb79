package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stoppedForALimit matches the messages of a script stopped for its memory, its CPU
// budget or a built-in's size guard.
var stoppedForALimit = regexp.MustCompile(`more than 256 MiB of memory \(--script-memory-limit\)|without waiting and was stopped|used up its CPU budget|RangeError`)

// TestScriptsHurtOnlyThemselves runs the scripts that used to take the whole server
// down (an allocation of 1e11 bytes, guards bypassed with valueOf, built-ins that
// build gigabytes or loop in Go): each ends its own execution ENDED_ERROR with a
// message that names the limit, while an ordinary flow runs beside them and this
// process — API, worker and embedded Temporal — stays up and under 1 GB.
func TestScriptsHurtOnlyThemselves(t *testing.T) {
	attacks := map[string]string{
		"arraybuffer": `function handler() { return {n: new ArrayBuffer(1e11).byteLength}; }`,
		// valueOf is called once now: the guard and repeat see the same 1e11.
		"repeat_valueOf": `function handler() { let c = 0; return {n: 'x'.repeat({valueOf() { return c++ ? 1 : 1e11; }}).length}; }`,
		"uint8array":     `function handler() { return {n: new Uint8Array(1.5e9).fill(1).length}; }`,
		"concat":         `function handler() { const s = 'x'.repeat(1 << 24); return {n: ''.concat(...Array(100).fill(s)).length}; }`,
		"stringify":      `function handler() { const s = 'x'.repeat(1 << 24); return {n: JSON.stringify(Array(100).fill(s)).length}; }`,
		"replaceAll":     `function handler() { const s = 'x'.repeat(1 << 24); return {n: 'x'.repeat(100).replaceAll('x', s).length}; }`,
		"join_length":    `function handler() { return {n: Array.prototype.join.call({length: 2 ** 32 + 1}, '').length}; }`,
		"doubling":       `function handler() { let s = 'xx'; for (;;) s = s + s; }`,
		"arrays":         `function handler() { const a = []; for (;;) a.push(new Array(1e6).fill(0)); }`,
		// Each allocation under the built-ins' own size guards: only the memory limit
		// stops these.
		"buffers": `function handler() { const a = []; for (let i = 0; i < 100; i++) a.push(new ArrayBuffer(60e6)); return {n: a.length}; }`,
		"strings": `function handler() { const s = 'x'.repeat(1 << 24), a = []; for (let i = 0; i < 100; i++) a.push(s + i); return {n: a.length}; }`,
	}
	each(t, func(t *testing.T, b *backend) {
		peak := watchRSS(t)
		ok := unique("ordinary")
		pushFlow(t, b.api, ok, `function handler(system, inputs) { this.sleep(1); return {n: inputs.n}; }`)
		var wg sync.WaitGroup
		for name, src := range attacks {
			flow := unique("attack_" + name)
			pushFlow(t, b.api, flow, src)
			wg.Add(1)
			go func() {
				defer wg.Done()
				e := runFlow(t, b.api, flow, nil)
				t.Logf("%s: %s %q", name, e.Status, e.StatusMessage)
				if e.Status != "ENDED_ERROR" || !stoppedForALimit.MatchString(e.StatusMessage) {
					t.Errorf("%s ended %s %q", name, e.Status, e.StatusMessage)
				}
			}()
		}
		for i := range 3 {
			e := runFlow(t, b.api, ok, map[string]any{"n": i})
			if e.Status != "ENDED_SUCCESS" || e.Outputs["n"] != float64(i) {
				t.Errorf("the ordinary flow beside the attacks ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
			}
		}
		wg.Wait()
		if e := runFlow(t, b.api, ok, map[string]any{"n": 9}); e.Status != "ENDED_SUCCESS" {
			t.Errorf("the ordinary flow after the attacks ended %s %q", e.Status, e.StatusMessage)
		}
		if p := peak(); p > 1<<30 {
			t.Errorf("the server's RSS reached %d MiB; scripts must not grow it", p>>20)
		} else {
			t.Logf("peak RSS of the server process: %d MiB", p>>20)
		}
	})
}

// TestMemoryLimitMessage checks the exact message of the memory limit, at its default.
func TestMemoryLimitMessage(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		flow := unique("oom")
		pushFlow(t, b.api, flow, `function handler() {
  this.set_output('stage', 'before');
  console.log('allocating');
  const a = [];
  for (let i = 0; i < 100; i++) a.push(new ArrayBuffer(60e6));
  return {n: a.length};
}`)
		e := runFlow(t, b.api, flow, nil)
		want := "the script used more than 256 MiB of memory (--script-memory-limit) and was stopped"
		if e.Status != "ENDED_ERROR" || !strings.HasPrefix(e.StatusMessage, want) {
			t.Fatalf("ended %s %q; want ENDED_ERROR %q", e.Status, e.StatusMessage, want)
		}
		if e.Outputs["stage"] != "before" {
			t.Errorf("outputs set before the limit are kept: %v", e.Outputs)
		}
		if lines := logsOf(t, b.api, e.ID); len(lines) == 0 || lines[0].Message != "allocating" {
			t.Errorf("the line logged before the limit is kept: %+v", lines)
		}
	})
}

// TestSandboxCrashedTwiceIsNotRunAgain kills the sandbox of a sleeping execution
// twice (the test's hook for a sandbox that crashes for no reason the script shows):
// the first time the workflow task is retried and the script resumes from its history;
// the second time the execution ends ENDED_ERROR instead of being retried forever.
func TestSandboxCrashedTwiceIsNotRunAgain(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		flow := unique("crashy")
		pushFlow(t, b.api, flow, `function handler() {
  for (let i = 1; i <= 3; i++) { console.log('sleep ' + i); this.sleep(3); }
  return {done: true};
}`)
		var started execution
		b.api.must(t, "POST", "/api/v1/flows/"+flow+"/executions", map[string]any{"inputs": map[string]any{}}, &started, 201, 202)
		for _, n := range []string{"sleep 1", "sleep 2"} {
			eventually(t, 30*time.Second, "execution waits in "+n, func() (bool, string) {
				var e execution
				b.api.call("GET", "/api/v1/executions/"+started.ID, nil, &e)
				lines := logsOf(t, b.api, started.ID)
				return e.Status == "WAITING" && len(lines) > 0 && lines[len(lines)-1].Message == n, e.Status
			})
			if killed := killSandboxes(t); killed == 0 {
				t.Fatal("no sandbox process to kill")
			}
		}
		e := waitEnded(t, b.api, started.ID, 60*time.Second)
		if e.Status != "ENDED_ERROR" || !strings.Contains(e.StatusMessage, "crashed its sandbox twice") {
			t.Fatalf("ended %s %q; want ENDED_ERROR saying the sandbox crashed twice", e.Status, e.StatusMessage)
		}
		for _, l := range logsOf(t, b.api, e.ID) {
			if l.Message == "sleep 3" {
				t.Errorf("the script went on after the second crash: %+v", l)
			}
		}
		ok := unique("after_crash")
		pushFlow(t, b.api, ok, `function handler() { return {ok: true}; }`)
		if e := runFlow(t, b.api, ok, nil); e.Status != "ENDED_SUCCESS" {
			t.Fatalf("an ordinary flow after the crashes ended %s %q", e.Status, e.StatusMessage)
		}
	})
}

// killSandboxes kills this process's script sandboxes (children started with
// FLOWD_SANDBOX=1) and returns how many.
func killSandboxes(t *testing.T) int {
	t.Helper()
	out, _ := exec.Command("pgrep", "-P", strconv.Itoa(os.Getpid())).Output()
	n := 0
	for _, f := range strings.Fields(string(out)) {
		env, err := os.ReadFile("/proc/" + f + "/environ")
		if err != nil || !strings.Contains(string(env), "FLOWD_SANDBOX=1") {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil && p.Kill() == nil {
			n++
		}
	}
	return n
}

// watchRSS samples this process's resident memory until the test ends; the returned
// function gives the peak so far.
func watchRSS(t *testing.T) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if rss := procStatusBytes(os.Getpid(), "VmRSS"); rss > peak.Load() {
				peak.Store(rss)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { close(done) })
	return peak.Load
}
