package scripting

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	must(o.Set("flow", r.flow))
	must(o.Set("wait_for", r.waitFor))
	must(o.Set("message", r.message))
	return o
}

// systemObject builds `system`, the platform.
func (r *run) systemObject() *goja.Object {
	o := r.vm.NewObject()
	must(o.Set("setting", r.setting))
	must(o.Set("file", r.file))
	must(o.Set("secret", r.secret))
	must(o.Set("grant", r.grant))
	must(o.Set("base_url", r.baseURL))
	return o
}

func (r *run) storedName(kind string, name goja.Value) string {
	if !isString(name) || name.String() == "" || len(name.String()) > 200 {
		r.throw("TypeError", "system."+kind+"(name): name must be a non-empty string of at most 200 characters", nil)
	}
	return name.String()
}

// setting implements system.setting(name) with get('value') and save(value).
func (r *run) setting(name goja.Value) goja.Value {
	n := r.storedName("setting", name)
	o := r.vm.NewObject()
	must(o.Set("get", func(field string) goja.Value {
		switch field {
		case "name":
			return r.vm.ToValue(n)
		case "value":
		default:
			r.throw("TypeError", "system.setting('"+n+"').get(field): field must be 'value' or 'name'", nil)
		}
		type read struct {
			v  any
			ok bool
		}
		v, err := wait(r, func() (read, error) {
			v, ok, err := r.host.Setting(n)
			return read{v, ok}, err
		})
		if err != nil {
			r.throw("Error", "system.setting('"+n+"'): "+err.Error(), nil)
		}
		if !v.ok {
			return goja.Undefined()
		}
		out, err := r.fromGo(v.v)
		if err != nil {
			r.throw("Error", "system.setting('"+n+"'): "+err.Error(), nil)
		}
		return out
	}))
	must(o.Set("save", func(value goja.Value) goja.Value {
		v, err := r.toGo(value)
		if err != nil {
			r.throw("TypeError", "system.setting('"+n+"').save: the value cannot be stored as JSON: "+err.Error(), nil)
		}
		if _, err := wait(r, func() (struct{}, error) { return struct{}{}, r.host.SaveSetting(n, v) }); err != nil {
			r.throw("Error", "system.setting('"+n+"').save: "+err.Error(), nil)
		}
		return o
	}))
	return o
}

// file implements system.file(name) with get/save_text_content and
// get/save_base64_content.
func (r *run) file(name goja.Value) goja.Value {
	n := r.storedName("file", name)
	o := r.vm.NewObject()
	read := func() []byte {
		v, err := wait(r, func() ([]byte, error) {
			b, ok, err := r.host.File(n)
			if err == nil && !ok {
				err = errors.New("there is no file named " + strconv.Quote(n) + "; save it first with save_text_content or PUT /api/v1/files/" + n)
			}
			return b, err
		})
		if err != nil {
			r.throw("Error", "system.file('"+n+"'): "+err.Error(), nil)
		}
		return v
	}
	save := func(b []byte) {
		if _, err := wait(r, func() (struct{}, error) { return struct{}{}, r.host.SaveFile(n, b) }); err != nil {
			r.throw("Error", "system.file('"+n+"').save: "+err.Error(), nil)
		}
	}
	must(o.Set("get_text_content", func() string {
		b := read()
		if !utf8.Valid(b) {
			r.throw("Error", "system.file('"+n+"'): the file is not UTF-8 text; use get_base64_content()", nil)
		}
		return string(b)
	}))
	must(o.Set("get_base64_content", func() string { return base64.StdEncoding.EncodeToString(read()) }))
	must(o.Set("save_text_content", func(s string) goja.Value { save([]byte(s)); return o }))
	must(o.Set("save_base64_content", func(s string) goja.Value {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			r.throw("TypeError", "system.file('"+n+"').save_base64_content: not valid base64: "+err.Error(), nil)
		}
		save(b)
		return o
	}))
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
		v, refs, err := r.connectInputs(args[0])
		if err != nil {
			r.throw("TypeError", "this.connect: the inputs cannot be encoded as JSON: "+err.Error(), nil)
		}
		m, ok := v.(map[string]any)
		if !ok {
			r.throw("TypeError", "this.connect: inputs must be an object, like this.connect({connector_type: 'REST', url: 'https://...'})", nil)
		}
		req.Inputs, req.Secrets = m, refs
	}
	if req.Name == "" && req.Inputs["connector_type"] == nil {
		r.throw("TypeError", "this.connect: give connector_type (for example {connector_type: 'REST', url: '...'}) or the name of a saved connector", nil)
	}
	waitFor := r.waitOption("this.connect", req.Inputs)
	delete(req.Inputs, "wait")
	req.Wait = waitFor
	p, err := wait(r, func() (Pending, error) { return r.host.Connect(req) })
	if errors.Is(err, ErrCancelled) {
		r.throw("CancelledError", "this.connect: "+err.Error(), nil)
	}
	if err != nil {
		r.throw("ConnectError", "this.connect: "+err.Error(), nil)
	}
	return r.startedChild("connection", p, waitFor)
}

// flow implements this.flow(name, inputs, {wait}).
func (r *run) flow(call goja.FunctionCall) goja.Value {
	args := call.Arguments
	if len(args) == 0 || !isString(args[0]) || args[0].String() == "" {
		r.throw("TypeError", "this.flow(name, inputs): name must be the name of a saved flow, like this.flow('send_invoice', {id: 42})", nil)
	}
	req := FlowRequest{Name: args[0].String(), Inputs: map[string]any{}}
	if len(args) > 1 && !goja.IsUndefined(args[1]) && !goja.IsNull(args[1]) {
		v, err := r.toGo(args[1])
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			r.throw("TypeError", "this.flow('"+req.Name+"', inputs): inputs must be an object, like {id: 42}", nil)
		}
		req.Inputs = m
	}
	waitFor := true
	if len(args) > 2 && !goja.IsUndefined(args[2]) {
		opts, _ := r.toGo(args[2])
		m, ok := opts.(map[string]any)
		if !ok {
			r.throw("TypeError", "this.flow: options must be an object like {wait: false}", nil)
		}
		waitFor = r.waitOption("this.flow", m)
	}
	req.Wait = waitFor
	p, err := wait(r, func() (Pending, error) { return r.host.Flow(req) })
	if errors.Is(err, ErrCancelled) {
		r.throw("CancelledError", "this.flow: "+err.Error(), nil)
	}
	var ie *InputError
	if errors.As(err, &ie) {
		r.throw("TypeError", "this.flow('"+req.Name+"'): "+ie.Message, nil)
	}
	if err != nil {
		r.throw("ExecutionError", "this.flow('"+req.Name+"'): "+err.Error(), nil)
	}
	return r.startedChild("flow", p, waitFor)
}

// waitOption reads the wait key of a call's options: true when absent.
func (r *run) waitOption(call string, opts map[string]any) bool {
	w, ok := opts["wait"]
	if !ok {
		return true
	}
	b, isBool := w.(bool)
	if !isBool {
		r.throw("TypeError", call+": wait must be true or false", nil)
	}
	return b
}

// startedChild returns the handle of a started child, after waiting for it unless
// waitFor is false.
func (r *run) startedChild(kind string, p Pending, waitFor bool) goja.Value {
	h := &childHandle{kind: kind, p: p}
	obj := r.handleObject(h)
	if waitFor {
		r.await(h, obj)
	}
	return obj
}

// childHandle is the state behind a child's handle object.
type childHandle struct {
	kind  string // "connection" or "flow"
	p     Pending
	done  bool
	child Child
}

// await waits for the child and throws an ExecutionError if it failed.
func (r *run) await(h *childHandle, obj *goja.Object) {
	if !h.done {
		c, err := wait(r, h.p.Wait)
		if errors.Is(err, ErrCancelled) {
			r.throw("CancelledError", err.Error(), nil)
		}
		var ie *InputError
		if errors.As(err, &ie) {
			h.done = true // nothing more to wait for
			r.throw("TypeError", "this.connect: "+ie.Message, nil)
		}
		if err != nil {
			r.throw("ExecutionError", h.kind+" "+h.p.Name()+" ("+h.p.ID()+"): "+err.Error(), map[string]goja.Value{"execution": obj})
		}
		h.child, h.done = c, true
	}
	if h.child.Status == "ENDED_ERROR" {
		msg := h.kind + " " + h.child.Name + " (" + h.child.ID + ") failed: " + h.child.StatusMessage
		r.throw("ExecutionError", msg, map[string]goja.Value{"execution": obj})
	}
}

// handleObject builds the script's view of a child execution: get(field), wait().
// id and name are known at once; other fields wait for the child to end.
func (r *run) handleObject(h *childHandle) *goja.Object {
	o := r.vm.NewObject()
	must(o.Set("get", func(field string) goja.Value {
		switch field {
		case "id":
			return r.vm.ToValue(h.p.ID())
		case "name":
			return r.vm.ToValue(h.p.Name())
		}
		if !h.done {
			func() {
				defer func() {
					// get() of a failed child returns its fields instead of throwing.
					if rec := recover(); rec != nil && !h.done {
						panic(rec)
					}
				}()
				r.await(h, o)
			}()
		}
		return r.field(h.child, field)
	}))
	must(o.Set("wait", func() goja.Value {
		r.await(h, o)
		return o
	}))
	r.handles.add(o, h)
	return o
}

// waitFor implements this.wait_for(c1, c2, ...) (handles or arrays of handles): it
// waits for all of them, then throws an ExecutionError for the first that failed.
func (r *run) waitFor(call goja.FunctionCall) goja.Value {
	var objs []*goja.Object
	var collect func(v goja.Value)
	collect = func(v goja.Value) {
		o, ok := v.(*goja.Object)
		if ok {
			if _, isHandle := r.handles.get(o); isHandle {
				objs = append(objs, o)
				return
			}
			if o.ClassName() == "Array" {
				for _, k := range o.Keys() {
					collect(o.Get(k))
				}
				return
			}
		}
		r.throw("TypeError", "this.wait_for(...): pass the handles returned by this.connect or this.flow with {wait: false}", nil)
	}
	for _, a := range call.Arguments {
		collect(a)
	}
	var firstErr any
	for _, o := range objs {
		func() {
			defer func() {
				if rec := recover(); rec != nil {
					if h, _ := r.handles.get(o); !isJSObject(rec) || !h.done {
						panic(rec) // cancellation or an engine error: stop at once
					}
					if firstErr == nil {
						firstErr = rec
					}
				}
			}()
			h, _ := r.handles.get(o)
			r.await(h, o)
		}()
	}
	if firstErr != nil {
		panic(firstErr)
	}
	vals := make([]any, len(objs))
	for i, o := range objs {
		vals[i] = o
	}
	return r.vm.NewArray(vals...)
}

// message implements this.message({subject, body, fields, timeout}).
func (r *run) message(arg goja.Value) goja.Value {
	v, err := r.toGo(arg)
	m, ok := v.(map[string]any)
	if err != nil || !ok {
		r.throw("TypeError", "this.message({subject, body, fields, timeout}): pass an object, like this.message({subject: 'Approve?', fields: [{name: 'ok', type: 'boolean'}]})", nil)
	}
	subject, _ := m["subject"].(string)
	if strings.TrimSpace(subject) == "" {
		r.throw("TypeError", "this.message: subject is required, like this.message({subject: 'Approve the invoice?'})", nil)
	}
	req := MessageRequest{Subject: subject, Body: m["body"], Fields: m["fields"]}
	// The timeout is read from the object itself, not from its JSON form, where
	// Infinity and NaN would become null (no timeout).
	if t := arg.(*goja.Object).Get("timeout"); t != nil && !goja.IsUndefined(t) && !goja.IsNull(t) {
		switch t.Export().(type) {
		case int64, float64:
		default:
			r.throw("TypeError", "this.message: timeout must be a number of seconds, like this.message({subject: 'Approve?', timeout: 3600})", nil)
		}
		// Compared as seconds: converting 1e12 s or Infinity to a time.Duration
		// overflows into a negative duration, which would mean no timeout.
		secs := t.ToFloat()
		if !(secs > 0 && secs <= maxSleep.Seconds()) {
			r.throw("RangeError", "this.message: timeout must be a number of seconds greater than 0 and at most "+strconv.FormatFloat(maxSleep.Seconds(), 'f', 0, 64)+" (one year), not "+t.String(), nil)
		}
		req.Timeout = time.Duration(secs * float64(time.Second))
	}
	answer, err := wait(r, func() (any, error) { return r.host.Message(req) })
	switch {
	case errors.Is(err, ErrTimeout):
		r.throw("TimeoutExceededError", "this.message('"+subject+"'): "+err.Error(), nil)
	case errors.Is(err, ErrCancelled):
		r.throw("CancelledError", "this.message: "+err.Error(), nil)
	case err != nil:
		r.throw("Error", "this.message: "+err.Error(), nil)
	}
	out, err := r.fromGo(answer)
	if err != nil {
		r.throw("Error", "this.message: "+err.Error(), nil)
	}
	return out
}

// maxSleep bounds this.sleep: longer waits belong in a schedule.
const maxSleep = 366 * 24 * time.Hour

// sleep implements this.sleep(seconds): a durable timer.
func (r *run) sleep(seconds goja.Value) {
	var secs float64
	if seconds != nil && !goja.IsUndefined(seconds) {
		switch seconds.Export().(type) {
		case int64, float64:
			secs = seconds.ToFloat()
		default:
			r.throw("TypeError", "this.sleep(seconds): seconds must be a number, like this.sleep(30)", nil)
		}
	}
	// Compared as seconds: converting 1e12 s or Infinity to a time.Duration overflows
	// into a negative duration, which would not sleep at all. NaN fails both tests.
	if !(secs >= 0 && secs <= maxSleep.Seconds()) {
		r.throw("RangeError", "this.sleep(seconds): seconds must be a number between 0 and "+strconv.FormatFloat(maxSleep.Seconds(), 'f', 0, 64)+" (one year), not "+seconds.String()+"; use a schedule for longer waits", nil)
	}
	d := time.Duration(secs * float64(time.Second))
	_, err := wait(r, func() (struct{}, error) { return struct{}{}, r.host.Sleep(d) })
	switch {
	case errors.Is(err, ErrCancelled):
		r.throw("CancelledError", "this.sleep: "+err.Error(), nil)
	case err != nil: // a limit of the execution (its history), not a cancellation
		r.throw("Error", "this.sleep: "+err.Error(), nil)
	}
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
		msg := strings.Join(parts, " ")
		if r.host.Log(level, msg) {
			// Flushing a batch of lines to the store is a wait, not computing.
			_, _ = wait(r, func() (struct{}, error) { r.host.FlushLogs(); return struct{}{}, nil })
		}
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

func isJSObject(v any) bool {
	_, ok := v.(*goja.Object)
	return ok
}
