package scripting

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/dop251/goja"
)

// thisObject builds `this` of the handler: the running execution.
func (r *run) thisObject() *goja.Object {
	vm := r.vm
	o := vm.NewObject()
	must(o.Set("connect", r.connect))
	must(o.Set("log", r.logFunc("info")))
	must(o.Set("get", func(field string) goja.Value { return r.field(r.selfNow(), field) }))
	must(o.Set("set_output", func(key string, value goja.Value) {
		v, err := r.toGo(value)
		if err != nil {
			r.throw("TypeError", "set_output: the value cannot be stored as JSON: "+err.Error(), nil)
		}
		r.outputs[key] = v
		r.host.SetOutput(key, v)
	}))
	must(o.Set("success", func(message string) { r.finish("ENDED_SUCCESS", message) }))
	must(o.Set("error", func(message string) { r.finish("ENDED_ERROR", message) }))
	must(o.Set("sleep", r.sleep))
	for _, name := range []string{"flow", "message", "wait_for"} {
		n := name
		must(o.Set(n, func() {
			r.throw("Error", "this."+n+"() is not available in this version of flowd yet", nil)
		}))
	}
	return o
}

// systemObject builds `system`, the platform.
func (r *run) systemObject() *goja.Object {
	o := r.vm.NewObject()
	for _, name := range []string{"setting", "file"} {
		n := name
		must(o.Set(n, func() {
			r.throw("Error", "system."+n+"() is not available in this version of flowd yet", nil)
		}))
	}
	return o
}

// finish ends the execution at once: an interrupt cannot be caught by the script.
func (r *run) finish(status, message string) {
	r.end = &endSignal{status: status, message: message}
	r.vm.Interrupt(*r.end)
}

func (r *run) selfNow() Child {
	c := r.host.Self()
	c.Outputs = r.outputs
	return c
}

// connect implements this.connect(inputs) and this.connect(name, overrides).
func (r *run) connect(call goja.FunctionCall) goja.Value {
	req := ConnectRequest{Inputs: map[string]any{}}
	args := call.Arguments
	if len(args) > 0 && isString(args[0]) {
		req.Name = args[0].String()
		args = args[1:]
	}
	if len(args) > 0 && !goja.IsUndefined(args[0]) && !goja.IsNull(args[0]) {
		v, err := r.toGo(args[0])
		if err != nil {
			r.throw("TypeError", "this.connect: the inputs cannot be encoded as JSON: "+err.Error(), nil)
		}
		m, ok := v.(map[string]any)
		if !ok {
			r.throw("TypeError", "this.connect: inputs must be an object, like this.connect({connector_type: 'REST', url: 'https://...'})", nil)
		}
		req.Inputs = m
	}
	if req.Name == "" && req.Inputs["connector_type"] == nil {
		r.throw("TypeError", "this.connect: give connector_type (for example {connector_type: 'REST', url: '...'}) or the name of a saved connector", nil)
	}
	child, err := wait(r, func() (Child, error) { return r.host.Connect(req) })
	if errors.Is(err, ErrCancelled) {
		r.throw("CancelledError", "this.connect: "+err.Error(), nil)
	}
	if err != nil {
		r.throw("ConnectError", "this.connect: "+err.Error(), nil)
	}
	handle := r.handle(child)
	if child.Status == "ENDED_ERROR" {
		msg := "connection " + child.Name + " (" + child.ID + ") failed: " + child.StatusMessage
		r.throw("ExecutionError", msg, map[string]goja.Value{"execution": handle})
	}
	return handle
}

// maxSleep bounds this.sleep: longer waits belong in a schedule.
const maxSleep = 366 * 24 * time.Hour

// sleep implements this.sleep(seconds): a durable timer.
func (r *run) sleep(seconds goja.Value) {
	var secs float64
	if seconds != nil && !goja.IsUndefined(seconds) {
		if n, ok := seconds.Export().(int64); ok {
			secs = float64(n)
		} else if f, ok := seconds.Export().(float64); ok {
			secs = f
		} else {
			r.throw("TypeError", "this.sleep(seconds): seconds must be a number, like this.sleep(30)", nil)
		}
	}
	d := time.Duration(secs * float64(time.Second))
	if secs < 0 || secs != secs || d > maxSleep {
		r.throw("RangeError", "this.sleep(seconds): seconds must be between 0 and one year; use a schedule for longer waits", nil)
	}
	if _, err := wait(r, func() (struct{}, error) { return struct{}{}, r.host.Sleep(d) }); err != nil {
		r.throw("CancelledError", "this.sleep: "+err.Error(), nil)
	}
}

// handle builds the script's view of a child execution.
func (r *run) handle(c Child) *goja.Object {
	o := r.vm.NewObject()
	must(o.Set("get", func(field string) goja.Value { return r.field(c, field) }))
	must(o.Set("wait", func() goja.Value { return o }))
	return o
}

func (r *run) field(c Child, name string) goja.Value {
	var v any
	switch name {
	case "id":
		v = c.ID
	case "name":
		v = c.Name
	case "status":
		v = c.Status
	case "status_message":
		v = c.StatusMessage
	case "input_value":
		v = c.Inputs
	case "output_value":
		v = c.Outputs
	default:
		r.throw("TypeError", "get('"+name+"'): unknown field; use one of output_value, input_value, status, status_message, id, name", nil)
	}
	out, err := r.fromGo(v)
	if err != nil {
		r.throw("Error", "get('"+name+"'): "+err.Error(), nil)
	}
	return out
}

// logFunc returns a function that logs its arguments at level: strings as they are,
// other values as JSON, joined by spaces.
func (r *run) logFunc(level string) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		parts := make([]string, len(call.Arguments))
		for i, a := range call.Arguments {
			parts[i] = r.format(a)
		}
		r.host.Log(level, strings.Join(parts, " "))
		return goja.Undefined()
	}
}

func (r *run) format(v goja.Value) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	case isString(v):
		return v.String()
	}
	if obj, ok := v.(*goja.Object); ok {
		if _, isFn := goja.AssertFunction(obj); isFn {
			return v.String()
		}
		if obj.ClassName() == "Error" {
			return v.String()
		}
	}
	got, err := r.toGo(v)
	if err != nil {
		return v.String()
	}
	b, err := json.Marshal(got)
	if err != nil {
		return v.String()
	}
	return string(b)
}

func isString(v goja.Value) bool {
	if v == nil {
		return false
	}
	_, ok := v.Export().(string)
	return ok
}
