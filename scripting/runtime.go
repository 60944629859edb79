package scripting

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// Options bound a run.
type Options struct {
	// CPUBudget is how long the script may compute between two waits (connector calls,
	// sleeps). It stays well under Temporal's 1 s deadlock detector. Zero means 300 ms.
	CPUBudget time.Duration
	// MaxCallStack bounds recursion. Zero means 500 frames.
	MaxCallStack int
	// Seed makes Math.random() replay identically.
	Seed int64
	// BaseURL is the API's public base URL, which the script reads as
	// system.base_url (flowd's own routes, such as /demo/..., live under it).
	BaseURL string
}

// DefaultCPUBudget is how long a script may compute between two waits unless its
// Options say otherwise.
const DefaultCPUBudget = 300 * time.Millisecond

const defaultMaxCallStack = 500

// endSignal is the interrupt value of this.success/this.error: an interrupt, unlike an
// exception, cannot be caught by the script.
type endSignal struct {
	status  string
	message string
}

// budgetExceeded is the interrupt value of the CPU budget.
// wall is set when the step was stopped by the wall-clock limit instead.
type budgetExceeded struct {
	budget time.Duration
	wall   time.Duration
}

// run holds one execution of a program.
type run struct {
	vm      *goja.Runtime
	host    Host
	prog    *Program
	budget  time.Duration
	meter   *meter
	outputs map[string]any
	end     *endSignal
	handles handleSet // child handles given to the script
	baseURL string    // system.base_url
}

// Run executes the program's top level and then its handler with the given inputs, and
// returns how it ended. It never panics on script behaviour: every failure becomes an
// ENDED_ERROR outcome whose message says what to do.
func Run(p *Program, host Host, inputs map[string]any, opt Options) Outcome {
	if opt.CPUBudget <= 0 {
		opt.CPUBudget = DefaultCPUBudget
	}
	if opt.MaxCallStack <= 0 {
		opt.MaxCallStack = defaultMaxCallStack
	}
	r := &run{vm: goja.New(), host: host, prog: p, budget: opt.CPUBudget, outputs: map[string]any{}, baseURL: opt.BaseURL}
	r.setup(opt)
	r.meter = &meter{budget: r.budget, stop: r.vm.Interrupt}
	r.meter.start()
	defer r.meter.pause()

	result, err := r.call(inputs)
	if err != nil {
		return r.failure(err)
	}
	if r.end != nil {
		return Outcome{Status: r.end.status, Message: r.end.message, Outputs: r.outputs}
	}
	if err := r.mergeResult(result); err != nil {
		return r.failure(err)
	}
	return Outcome{Status: "ENDED_SUCCESS", Outputs: r.outputs}
}

// setup is the one place where Go meets the script's global scope.
func (r *run) setup(opt Options) {
	vm := r.vm
	vm.SetTimeSource(r.host.Now)
	rnd := rand.New(rand.NewSource(opt.Seed))
	vm.SetRandSource(rnd.Float64)
	vm.SetMaxCallStackSize(opt.MaxCallStack)
	console := vm.NewObject()
	for _, level := range []string{"log", "info", "warn", "error", "debug"} {
		lvl := level
		if lvl == "log" {
			lvl = "info"
		}
		must(console.Set(level, r.logFunc(lvl)))
	}
	must(vm.Set("console", console))
	r.installGuards()
}

func (r *run) call(inputs map[string]any) (goja.Value, error) {
	if _, err := r.vm.RunProgram(r.prog.prg); err != nil {
		return nil, err
	}
	handler, ok := goja.AssertFunction(r.vm.Get("handler"))
	if !ok {
		return nil, errors.New("`handler` is not a function: define `function handler(system, inputs) { ... }`")
	}
	in, err := r.fromGo(inputs)
	if err != nil {
		return nil, err
	}
	return handler(r.thisObject(), r.systemObject(), in)
}

// wait runs f, a host call that may block, with the CPU budget paused.
func wait[T any](r *run, f func() (T, error)) (T, error) {
	r.meter.pause()
	defer func() {
		r.vm.ClearInterrupt() // a budget that fired in the gap before pause does not count
		r.meter.start()
	}()
	return f()
}

// failure turns an error from the runtime into an ENDED_ERROR outcome.
func (r *run) failure(err error) Outcome {
	var intr *goja.InterruptedError
	if errors.As(err, &intr) {
		switch v := intr.Value().(type) {
		case endSignal:
			return Outcome{Status: v.status, Message: v.message, Outputs: r.outputs}
		case budgetExceeded:
			if v.wall > 0 {
				return Outcome{Status: "ENDED_ERROR", Outputs: r.outputs, Message: fmt.Sprintf(
					"the script ran for %s without waiting and was stopped%s (the worker may be overloaded, or the script computes too much in one step); break the work into smaller steps or child flows",
					v.wall.Round(time.Millisecond), r.where(intr.Stack()))}
			}
			return Outcome{Status: "ENDED_ERROR", Outputs: r.outputs, Message: fmt.Sprintf(
				"the script used up its CPU budget: it computed for more than %s without waiting (an endless loop, a catastrophic regular expression or a huge string?) and was stopped%s; break the work into smaller steps or child flows",
				v.budget, r.where(intr.Stack()))}
		}
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return Outcome{Status: "ENDED_ERROR", Outputs: r.outputs, Message: r.describe(ex)}
	}
	var se *goja.StackOverflowError
	if errors.As(err, &se) {
		return Outcome{Status: "ENDED_ERROR", Outputs: r.outputs, Message: "maximum call stack size exceeded (endless recursion?)" + r.where(se.Stack())}
	}
	return Outcome{Status: "ENDED_ERROR", Outputs: r.outputs, Message: err.Error()}
}

// describe renders an uncaught exception as the message plus the user's stack.
func (r *run) describe(ex *goja.Exception) string {
	msg := ex.Value().String()
	if obj, ok := ex.Value().(*goja.Object); ok {
		if s := obj.Get("stack"); s != nil && !goja.IsUndefined(s) {
			// The JS stack already starts with "Name: message".
			if lines := strings.SplitN(s.String(), "\n", 2); len(lines) > 0 && lines[0] != "" {
				msg = lines[0]
			}
		}
	}
	var b strings.Builder
	b.WriteString("uncaught " + msg)
	for _, f := range ex.Stack() {
		if f.SrcName() != r.prog.name {
			continue
		}
		pos := f.Position()
		name := f.FuncName()
		if name == "" {
			name = "<anonymous>"
		}
		fmt.Fprintf(&b, "\n    at %s (%s:%d:%d)", name, r.prog.name, pos.Line, pos.Column)
	}
	return b.String()
}

// where names the innermost frame of the user's code, as " at flow.js:3:5".
func (r *run) where(stack []goja.StackFrame) string {
	for _, f := range stack {
		if f.SrcName() == r.prog.name {
			pos := f.Position()
			return fmt.Sprintf(" at %s:%d:%d", r.prog.name, pos.Line, pos.Column)
		}
	}
	return ""
}

// mergeResult applies the return-value rule: an object becomes output_value (on top of
// keys set with set_output); any other value becomes {"result": value}; undefined
// leaves the outputs as they are.
func (r *run) mergeResult(v goja.Value) error {
	if v == nil || goja.IsUndefined(v) {
		return nil
	}
	got, err := r.toGo(v)
	if err != nil {
		return fmt.Errorf("the handler's return value cannot be stored: %w", err)
	}
	if m, ok := got.(map[string]any); ok {
		for k, val := range m {
			r.outputs[k] = val
		}
		return nil
	}
	r.outputs["result"] = got
	return nil
}

// toGo converts a script value to plain JSON data (maps, slices, float64, string,
// bool, nil) through JSON, so that nothing of the runtime leaks out.
func (r *run) toGo(v goja.Value) (any, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	stringify, _ := goja.AssertFunction(r.vm.Get("JSON").ToObject(r.vm).Get("stringify"))
	s, err := stringify(goja.Undefined(), v)
	if err != nil {
		return nil, err
	}
	if goja.IsUndefined(s) {
		return nil, nil
	}
	var out any
	if err := json.Unmarshal([]byte(s.String()), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// fromGo converts JSON data to fresh script objects through JSON.parse, so that the
// script never holds a live Go value.
func (r *run) fromGo(v any) (goja.Value, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	parse, _ := goja.AssertFunction(r.vm.Get("JSON").ToObject(r.vm).Get("parse"))
	return parse(goja.Undefined(), r.vm.ToValue(string(b)))
}

// throw raises a JS Error with the given name and message in the script.
func (r *run) throw(name, message string, extra map[string]goja.Value) {
	ctor := r.vm.Get("Error").ToObject(r.vm)
	obj, err := r.vm.New(ctor, r.vm.ToValue(message))
	if err != nil {
		panic(r.vm.NewGoError(errors.New(message)))
	}
	must(obj.Set("name", name))
	for k, v := range extra {
		must(obj.Set(k, v))
	}
	panic(obj)
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
