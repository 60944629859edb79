package scripting

import (
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/dop251/goja"
)

// goja's Interrupt stops a script between two instructions, not inside a built-in: a
// catastrophic regular expression or 'x'.repeat(2**30) would run (and allocate) for as
// long as it takes. These guards bound the built-ins that can do so in one call.

// maxBuiltinSize bounds the characters or elements one built-in call may produce.
const maxBuiltinSize = 16 << 20

// maxJSONDepth bounds the nesting of JSON.parse input: goja's parser recurses.
const maxJSONDepth = 1000

// regexTimeout ends a backtracking (regexp2) match. regexp2 then reports "no match",
// so the timeout is far longer than the CPU budget (300 ms): even on a busy machine a
// step whose regex timed out has used up its budget and ends ENDED_ERROR, rather than
// going on with a wrong "no match". It stays under the 3 s wall limit of a step.
const regexTimeout = 2 * time.Second

func init() {
	regexp2.DefaultMatchTimeout = regexTimeout
}

var guardsProgram = goja.MustCompile("guards.js", `(function (limit) {
  'use strict';
  const def = (obj, name, wrap) => Object.defineProperty(obj, name, {value: wrap(obj[name]), writable: true, configurable: true, enumerable: false});
  const tooBig = (what) => { throw new RangeError(what + ' would create more than ' + limit + ' characters or elements; work on smaller pieces'); };
  def(String.prototype, 'repeat', (orig) => function repeat(n) { if (String(this).length * Number(n) > limit) tooBig('String.prototype.repeat'); return orig.call(this, n); });
  def(String.prototype, 'padStart', (orig) => function padStart(n, s) { if (Number(n) > limit) tooBig('String.prototype.padStart'); return orig.call(this, n, s); });
  def(String.prototype, 'padEnd', (orig) => function padEnd(n, s) { if (Number(n) > limit) tooBig('String.prototype.padEnd'); return orig.call(this, n, s); });
  def(Array.prototype, 'join', (orig) => function join(sep) {
    const n = this.length >>> 0;
    if (n > limit || (sep !== undefined && n * String(sep).length > limit)) tooBig('Array.prototype.join');
    return orig.call(this, sep);
  });
  def(Array.prototype, 'fill', (orig) => function fill() { if ((this.length >>> 0) > limit) tooBig('Array.prototype.fill'); return orig.apply(this, arguments); });
  def(Array, 'from', (orig) => function from(src) { if (src != null && Number(src.length) > limit) tooBig('Array.from'); return orig.apply(this, arguments); });
})`, true)

// installGuards wraps the risky built-ins of a fresh runtime.
func (r *run) installGuards() {
	fn, err := r.vm.RunProgram(guardsProgram)
	must(err)
	install, _ := goja.AssertFunction(fn)
	_, err = install(goja.Undefined(), r.vm.ToValue(maxBuiltinSize))
	must(err)

	jsonObj := r.vm.Get("JSON").ToObject(r.vm)
	stringify, _ := goja.AssertFunction(jsonObj.Get("stringify"))
	must(jsonObj.Set("stringify", func(call goja.FunctionCall) goja.Value {
		if tooDeep(call.Argument(0), maxJSONDepth) {
			r.throw("TypeError", "JSON.stringify: the value is nested deeper than 1000 levels", nil)
		}
		v, err := stringify(goja.Undefined(), call.Arguments...)
		if err != nil {
			panic(err)
		}
		return v
	}))
	parse, _ := goja.AssertFunction(jsonObj.Get("parse"))
	must(jsonObj.Set("parse", func(call goja.FunctionCall) goja.Value {
		if s := call.Argument(0); isString(s) && jsonTooDeep(s.String()) {
			r.throw("SyntaxError", "JSON.parse: the text is nested deeper than 1000 levels", nil)
		}
		v, err := parse(goja.Undefined(), call.Arguments...)
		if err != nil {
			panic(err)
		}
		return v
	}))
}

// tooDeep reports whether a value nests objects deeper than max levels. goja's
// JSON.stringify recurses in Go, where neither Interrupt nor the call-stack limit
// reaches it, and it slows down quadratically with depth.
func tooDeep(v goja.Value, max int) bool {
	o, ok := v.(*goja.Object)
	if !ok {
		return false
	}
	if max == 0 {
		return true
	}
	if _, isFn := goja.AssertFunction(o); isFn {
		return false
	}
	for _, k := range o.Keys() {
		if tooDeep(o.Get(k), max-1) {
			return true
		}
	}
	return false
}

// jsonTooDeep reports whether JSON text nests arrays and objects deeper than
// maxJSONDepth (strings are skipped; the text need not be valid).
func jsonTooDeep(s string) bool {
	depth, inString, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if depth++; depth > maxJSONDepth {
				return true
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return false
}
