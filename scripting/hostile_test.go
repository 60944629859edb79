package scripting_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowd/flowd/scripting"
)

// runBounded runs a script and fails the test if it does not end within 20 s (a
// defence that is missing shows as a hang, not a pass).
func runBounded(t *testing.T, src string) scripting.Outcome {
	t.Helper()
	done := make(chan scripting.Outcome, 1)
	go func() {
		out, _ := run(t, src, nil)
		done <- out
	}()
	select {
	case out := <-done:
		return out
	case <-time.After(20 * time.Second):
		t.Fatalf("the script still runs after 20 s: %s", src)
		return scripting.Outcome{}
	}
}

// TestHostileScripts: each attack ends ENDED_ERROR with a message saying why, quickly,
// without taking the process down.
func TestHostileScripts(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"CatastrophicRegex", `function handler() { return /^(a+)+\1$/.test('a'.repeat(40) + '!'); }`, "without waiting"}, // the CPU budget, or the wall limit on a starved machine
		{"HugeRepeat", `function handler() { return 'x'.repeat(2 ** 30).length; }`, "String.prototype.repeat would create"},
		{"HugePad", `function handler() { return 'x'.padStart(2 ** 30).length; }`, "padStart would create"},
		{"HugeJoin", `function handler() { return new Array(1e7).join('x'.repeat(100)).length; }`, "join would create"},
		{"HugeFill", `function handler() { return new Array(2 ** 31).fill(0).length; }`, "fill would create"},
		{"StringDoubling", `function handler() { let s = 'x'; for (;;) s += s; }`, "without waiting"},
		{"DeepRecursion", `function f() { return f() + 1; } function handler() { return f(); }`, "call stack"},
		{"DeepJSONParse", `function handler() { return JSON.parse('['.repeat(1e6) + ']'.repeat(1e6)); }`, "nested deeper"},
		{"DeepJSONStringify", `function handler() { let o = []; for (let i = 0; i < 5000; i++) o = [o]; return JSON.stringify(o); }`, "nested deeper"},
		{"DeepReturnValue", `function handler() { let o = {}; for (let i = 0; i < 5000; i++) o = {a: o}; return o; }`, "nested deeper"},
		{"DeepToString", `function handler() { let o = []; for (let i = 0; i < 5000; i++) o = [o]; return String(o); }`, "call stack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := runBounded(t, tc.src)
			if out.Status != "ENDED_ERROR" || !strings.Contains(out.Message, tc.want) {
				t.Fatalf("got %s %q, want ENDED_ERROR mentioning %q", out.Status, out.Message, tc.want)
			}
		})
	}
}

// TestNoEscape: scripts reach nothing of the host through the usual escapes.
func TestNoEscape(t *testing.T) {
	out := runBounded(t, `function handler(system, inputs) {
  const g = constructor.constructor('return this')();
  const viaFn = Function('return this')();
  return {
    process: typeof g.process, require: typeof g.require, goja: typeof g.goja,
    same: g === viaFn, keys: Object.getOwnPropertyNames(g).filter((k) => /^[a-z]/.test(k) && !['console', 'handler'].includes(k)).join(','),
    proto: typeof Object.getPrototypeOf(this.connect), sysKeys: Object.keys(system).join(','),
  };
}`)
	if out.Status != "ENDED_SUCCESS" {
		t.Fatalf("got %s %q", out.Status, out.Message)
	}
	want := "goja=undefined keys=eval,globalThis,undefined,isNaN,parseInt,parseFloat,isFinite,decodeURI,decodeURIComponent,encodeURI,encodeURIComponent,escape,unescape process=undefined proto=function require=undefined same=true sysKeys=setting,file,secret,grant,base_url"
	if got := flat(out.Outputs); got != want {
		t.Fatalf("the global scope shows:\n%s\nwant\n%s", got, want)
	}
}

// TestNoPollutionAcrossRuns: each execution gets a fresh runtime.
func TestNoPollutionAcrossRuns(t *testing.T) {
	runBounded(t, `function handler() { Object.prototype.polluted = 'yes'; Array.prototype.map = null; JSON.parse = null; }`)
	out := runBounded(t, `function handler() { return {p: String(({}).polluted), m: typeof [].map, j: typeof JSON.parse}; }`)
	if got := flat(out.Outputs); got != "j=function m=function p=undefined" {
		t.Fatalf("a previous run leaked into this one: %s", got)
	}
}

// TestHugeScriptRefused: a 10 MB script is refused at save, before parsing.
func TestHugeScriptRefused(t *testing.T) {
	_, err := scripting.Compile("big", "function handler() {}\n//"+strings.Repeat("x", 10<<20))
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("got %v", err)
	}
}

// TestManyRunawaysAtOnce: 200 runaway scripts at once all end ENDED_ERROR.
func TestManyRunawaysAtOnce(t *testing.T) {
	var wg sync.WaitGroup
	outs := make([]scripting.Outcome, 200)
	p := mustCompile(t, `function handler() { for (;;) {} }`)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := &fakeHost{now: time.Now()}
			outs[i] = scripting.Run(p, h, nil, scripting.Options{CPUBudget: 50 * time.Millisecond})
		}()
	}
	wg.Wait()
	for i, out := range outs {
		if out.Status != "ENDED_ERROR" {
			t.Fatalf("runaway %d ended %s %q", i, out.Status, out.Message)
		}
	}
}
