package scripting

import (
	"fmt"
	"strconv"
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/dop251/goja"
)

// goja's Interrupt stops a script between two instructions, not inside a built-in: a
// catastrophic regular expression or 'x'.repeat(2**30) would run (and allocate) for as
// long as it takes. These guards bound the built-ins that can do so in one call.

// maxBuiltinSize bounds the characters or elements one built-in call may produce.
const maxBuiltinSize = 16 << 20

// maxBufferBytes bounds the bytes of one ArrayBuffer or typed array.
const maxBufferBytes = 64 << 20

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

// guardsProgram wraps the built-ins that can allocate a lot in one call. Each wrapper
// converts its arguments once and passes the converted values on, so that a valueOf
// or a getter cannot show the check one value and the built-in another; lengths are
// read with ToLength (a length of 2**32+1 is not 1).
var guardsProgram = goja.MustCompile("guards.js", `(function (limit, bufferLimit, joinPrimitives, countReturns) {
  'use strict';
  // Everything the wrappers use is taken now: the script may replace globals and
  // prototypes later, and must not be able to make a check look at something else.
  const {defineProperty, getPrototypeOf, setPrototypeOf, getOwnPropertyNames, getOwnPropertyDescriptor} = Object;
  const {apply, construct} = Reflect;
  const Obj = Object, Num = Number, Err = RangeError, TypeErr = TypeError, RegExpProto = RegExp.prototype;
  const isArray = Array.isArray, trunc = Math.trunc, max = Math.max, min = Math.min;
  const iteratorKey = Symbol.iterator, spreadableKey = Symbol.isConcatSpreadable;
  const indexOf = String.prototype.indexOf, charAt = String.prototype.charAt, slice = String.prototype.slice;
  const isPrototypeOf = Object.prototype.isPrototypeOf;
  const joining = new WeakSet(), wsHas = WeakSet.prototype.has, wsAdd = WeakSet.prototype.add, wsDelete = WeakSet.prototype.delete;
  const def = (obj, name, wrap) => defineProperty(obj, name, {value: wrap(obj[name]), writable: true, configurable: true, enumerable: false});
  const tooBig = (what, n) => { throw new Err(what + ' would create ' + (n === undefined ? 'more than ' + limit : n) + ' characters or elements (the limit is ' + limit + '); work on smaller pieces'); };
  const check = (what, n) => { if (n > limit) tooBig(what, n); };
  const toLength = (v) => { const n = trunc(Num(v)); return n > 0 ? min(n, 2 ** 53 - 1) : 0; };
  const toInteger = (v) => { const n = trunc(Num(v)); return n === n ? n : 0; };
  const str = (v) => { if (typeof v === 'symbol') throw new TypeErr('Cannot convert a Symbol value to a string'); return '' + v; };
  const thisString = (self, what) => { if (self == null) throw new TypeErr(what + ' called on null or undefined'); return str(self); };
  const thisObject = (self, what) => { if (self == null) throw new TypeErr(what + ' called on null or undefined'); return Obj(self); };
  const relative = (v, len, dflt) => { if (v === undefined) return dflt; const n = toInteger(v); return n < 0 ? max(len + n, 0) : min(n, len); };
  // withLength returns an array-like whose length is len and whose elements are
  // those of o: the built-in then reads the length checked here, not o's again.
  const withLength = (o, len) => { const view = {length: len}; setPrototypeOf(view, o); return view; };

  def(String.prototype, 'repeat', (orig) => function repeat(count) {
    const s = thisString(this, 'String.prototype.repeat'), n = Num(count);
    if (s.length * n > limit) tooBig('String.prototype.repeat', s.length * n);
    return apply(orig, s, [n]);
  });
  for (const name of ['padStart', 'padEnd']) {
    def(String.prototype, name, (orig) => function (maxLength, fill) {
      const s = thisString(this, 'String.prototype.' + name), n = toLength(maxLength);
      const f = fill === undefined ? undefined : str(fill);
      if (f !== '') check('String.prototype.' + name, n);
      return apply(orig, s, [n, f]);
    });
  }
  def(String.prototype, 'concat', (orig) => function concat(...args) {
    const s = thisString(this, 'String.prototype.concat');
    let n = s.length;
    for (let i = 0; i < args.length; i++) { args[i] = str(args[i]); n += args[i].length; }
    check('String.prototype.concat', n);
    return apply(orig, s, args);
  });

  // substitute expands the $ patterns of a replacement string for one match
  // (GetSubstitution of the standard); args are those a replacer function gets.
  const substitute = (r, args) => {
    let groups = args[args.length - 1], k = args.length - 3;
    if (typeof groups !== 'object' || groups === null) { groups = undefined; k = args.length - 2; }
    const match = args[0], pos = args[k], s = args[k + 1], captures = k - 1;
    let out = '';
    for (let i = 0; i < r.length; i++) {
      const c = apply(charAt, r, [i]);
      if (c !== '$' || i + 1 === r.length) { out += c; continue; }
      const d = apply(charAt, r, [i + 1]);
      if (d === '$') { out += '$'; i++; }
      else if (d === '&') { out += match; i++; }
      else if (d === '\x60') { out += apply(slice, s, [0, pos]); i++; } // \x60 is a backquote: the text before the match
      else if (d === "'") { out += apply(slice, s, [pos + match.length]); i++; }
      else if (d >= '0' && d <= '9') {
        const two = i + 2 < r.length ? apply(slice, r, [i + 1, i + 3]) : '';
        const n2 = two.length === 2 && two[1] >= '0' && two[1] <= '9' ? Num(two) : 0;
        if (n2 >= 1 && n2 <= captures) { const v = args[n2]; out += v === undefined ? '' : v; i += 2; }
        else if (Num(d) >= 1 && Num(d) <= captures) { const v = args[Num(d)]; out += v === undefined ? '' : v; i++; }
        else out += '$';
      } else if (d === '<' && groups !== undefined) {
        const end = apply(indexOf, r, ['>', i + 2]);
        if (end < 0) { out += '$'; continue; }
        const v = groups[apply(slice, r, [i + 2, end])];
        out += v === undefined ? '' : str(v);
        i = end;
      } else out += '$';
    }
    return out;
  };
  // replacedBound bounds the length of s with any number of matches replaced by r.
  // Matches do not overlap, so all the $& (and $1, $<name>) of all replacements
  // insert at most s.length each; but every $\x60 and $' of every replacement may
  // insert the whole string.
  const replacedBound = (s, r) => {
    let perMatch = 0, whole = 0;
    for (let i = apply(indexOf, r, ['$']); i >= 0 && i + 1 < r.length; i = apply(indexOf, r, ['$', i + 1])) {
      const d = apply(charAt, r, [i + 1]);
      if (d === '$') i++;
      else if (d === '\x60' || d === "'") perMatch++;
      else whole++;
    }
    return s.length + (s.length + 1) * (r.length + perMatch * s.length) + whole * s.length;
  };
  // replace and replaceAll call a function for each match that returns the
  // replacement and counts the length of the result as it grows.
  for (const name of ['replace', 'replaceAll']) {
    def(String.prototype, name, (orig) => function (pattern, replacement) {
      const what = 'String.prototype.' + name, s = thisString(this, what);
      const p = pattern !== null && (typeof pattern === 'object' || typeof pattern === 'function') ? pattern : str(pattern);
      const fn = typeof replacement === 'function' ? replacement : undefined;
      const r = fn === undefined ? str(replacement) : undefined;
      if (r !== undefined && replacedBound(s, r) <= limit) return apply(orig, s, [p, r]);
      let n = s.length;
      if (fn !== undefined) return apply(orig, s, [p, countReturns(fn, what, n)]);
      const plain = apply(indexOf, r, ['$']) < 0;
      const counted = function (...args) {
        const out = plain ? r : substitute(r, args);
        if ((n += out.length) > limit) tooBig(what, n);
        return out;
      };
      return apply(orig, s, [p, counted]);
    });
  }

  def(Array.prototype, 'join', (orig) => function join(separator) {
    const o = thisObject(this, 'Array.prototype.join'), len = toLength(o.length);
    const sep = separator === undefined ? ',' : str(separator);
    check('Array.prototype.join', len);
    if (apply(wsHas, joining, [o])) return ''; // a cycle, as the built-in does
    let n = len > 0 ? (len - 1) * sep.length : 0;
    check('Array.prototype.join', n);
    const quick = joinPrimitives(o, len, sep);
    if (quick !== undefined) return quick;
    // Convert each element once, and join plain strings.
    const parts = [];
    apply(wsAdd, joining, [o]);
    try {
      for (let i = 0; i < len; i++) {
        let e = o[i];
        if (typeof e === 'number') e = '' + e;
        else if (typeof e !== 'string') {
          e = e == null ? '' : str(e);
          // A conversion may have made a new string: check as it goes.
          if (n + e.length > limit) tooBig('Array.prototype.join', n + e.length);
        }
        n += e.length;
        parts[i] = e;
      }
    } finally {
      apply(wsDelete, joining, [o]);
    }
    check('Array.prototype.join', n);
    return apply(orig, parts, [sep]);
  });
  def(Array.prototype, 'fill', (orig) => function fill(value, start, end) {
    const o = thisObject(this, 'Array.prototype.fill'), len = toLength(o.length);
    const from = relative(start, len, 0), to = relative(end, len, len);
    check('Array.prototype.fill', to - from);
    return apply(orig, o, [value, from, to]);
  });
  def(Array.prototype, 'concat', (orig) => function concat(...args) {
    const o = thisObject(this, 'Array.prototype.concat');
    // Read each argument's length once, and pass on views with those lengths.
    const spread = (a) => {
      if (a === null || typeof a !== 'object') return false;
      const s = a[spreadableKey];
      return s !== undefined ? !!s : isArray(a);
    };
    let n = 0, self = o;
    const all = [o];
    for (let i = 0; i < args.length; i++) all[i + 1] = args[i];
    for (let i = 0; i < all.length; i++) {
      if (!spread(all[i])) { n++; continue; }
      const len = toLength(all[i].length);
      n += len;
      check('Array.prototype.concat', n);
      // A real array as this keeps its species (a subclass stays a subclass).
      if (i > 0 || !isArray(o)) {
        const view = withLength(all[i], len);
        view[spreadableKey] = true;
        if (i > 0) args[i - 1] = view; else self = view;
      }
    }
    return apply(orig, self, args);
  });
  def(Array, 'from', (orig) => function from(items, mapFn, thisArg) {
    if (items == null || typeof items[iteratorKey] === 'function') {
      if (items != null && isArray(items)) check('Array.from', toLength(items.length));
      return apply(orig, this, [items, mapFn, thisArg]);
    }
    const len = toLength(items.length);
    check('Array.from', len);
    return apply(orig, this, [withLength(Obj(items), len), mapFn, thisArg]);
  });

  // Array buffers and typed arrays allocate their bytes at once.
  const ArrayBufferProto = ArrayBuffer.prototype;
  const wrapConstructor = (name, bytes) => {
    const orig = globalThis[name];
    const wrapper = function (...args) {
      if (new.target === undefined) throw new TypeErr('Constructor ' + name + " requires 'new'");
      const n = bytes(args);
      if (n > bufferLimit) throw new Err('new ' + name + ' would allocate ' + n + ' bytes (the limit is ' + bufferLimit + '); work on smaller pieces');
      return construct(orig, args, new.target === wrapper ? orig : new.target);
    };
    setPrototypeOf(wrapper, getPrototypeOf(orig));
    const keys = getOwnPropertyNames(orig);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k !== 'prototype' && k !== 'length' && k !== 'name') defineProperty(wrapper, k, getOwnPropertyDescriptor(orig, k));
    }
    defineProperty(wrapper, 'prototype', {value: orig.prototype});
    defineProperty(wrapper, 'name', {value: name});
    defineProperty(wrapper, 'length', {value: orig.length});
    defineProperty(orig.prototype, 'constructor', {value: wrapper, writable: true, configurable: true, enumerable: false});
    defineProperty(globalThis, name, {value: wrapper, writable: true, configurable: true, enumerable: false});
  };
  wrapConstructor('ArrayBuffer', (args) => { const n = toInteger(args[0]); args[0] = n; return n; });
  const typed = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'];
  for (let i = 0; i < typed.length; i++) {
    const name = typed[i];
    if (typeof globalThis[name] !== 'function') continue;
    const size = globalThis[name].BYTES_PER_ELEMENT;
    wrapConstructor(name, (args) => {
      const a = args[0];
      if (a === null || typeof a !== 'object') { const n = toInteger(a); args[0] = n; return n * size; }
      if (apply(isPrototypeOf, ArrayBufferProto, [a])) return 0; // a view on memory that exists
      // An iterable gives its elements through its iterator, which runs in the
      // script (and stops with it); its length is checked when it has one.
      const len = toLength(a.length);
      if (typeof a[iteratorKey] !== 'function') args[0] = withLength(a, len);
      return len * size;
    });
  }
})`, true)

// installGuards wraps the risky built-ins of a fresh runtime.
func (r *run) installGuards() {
	fn, err := r.vm.RunProgram(guardsProgram)
	must(err)
	install, _ := goja.AssertFunction(fn)
	_, err = install(goja.Undefined(), r.vm.ToValue(maxBuiltinSize), r.vm.ToValue(maxBufferBytes), r.vm.ToValue(r.joinPrimitives), r.vm.ToValue(r.countReturns))
	must(err)

	jsonObj := r.vm.Get("JSON").ToObject(r.vm)
	stringify, _ := goja.AssertFunction(jsonObj.Get("stringify"))
	must(jsonObj.Set("stringify", func(call goja.FunctionCall) goja.Value {
		args := append([]goja.Value(nil), call.Arguments...)
		size := jsonText{limit: maxBuiltinSize, indent: jsonIndent(call.Argument(2))}
		if !size.add(call.Argument(0), maxJSONDepth) {
			if size.deep {
				r.throw("TypeError", "JSON.stringify: the value is nested deeper than 1000 levels", nil)
			}
			r.throw("RangeError", fmt.Sprintf("JSON.stringify would create more than %d characters (the limit); work on smaller pieces", maxBuiltinSize), nil)
		}
		if replacer, ok := goja.AssertFunction(call.Argument(1)); ok {
			// What a replacer returns is not in the value: count its strings as they come.
			args[1] = r.vm.ToValue(func(c goja.FunctionCall) goja.Value {
				v, err := replacer(c.This, c.Arguments...)
				if err != nil {
					panic(err)
				}
				if s, isStr := v.(goja.String); isStr {
					if size.n += s.Length(); size.n > maxBuiltinSize {
						r.throw("RangeError", fmt.Sprintf("JSON.stringify would create more than %d characters (the limit); work on smaller pieces", maxBuiltinSize), nil)
					}
				}
				return v
			})
		}
		v, err := stringify(goja.Undefined(), args...)
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

// joinPrimitives joins the first n elements of o with sep when they are all strings,
// numbers, booleans, null or undefined, reading each once; it returns undefined as
// soon as it meets an object or a symbol, which the script's join converts itself.
// The guard of Array.prototype.join calls it: a loop in JavaScript is several times
// slower for the arrays of plain values that most joins are about.
func (r *run) joinPrimitives(o *goja.Object, n int64, separator goja.Value) goja.Value {
	sep, ok := separator.(goja.String)
	if !ok {
		return goja.Undefined()
	}
	var b goja.StringBuilder
	size := 0
	for i := int64(0); i < n; i++ {
		var part goja.String
		var plain string // a number or a boolean, in ASCII
		switch v := o.Get(strconv.FormatInt(i, 10)).(type) {
		case nil:
		case goja.String:
			part = v
		case *goja.Object, *goja.Symbol:
			return goja.Undefined()
		default:
			if !goja.IsUndefined(v) && !goja.IsNull(v) {
				plain = v.String()
			}
		}
		if i > 0 {
			size += sep.Length()
			b.WriteString(sep)
		}
		if part != nil {
			size += part.Length()
		}
		if size += len(plain); size > maxBuiltinSize {
			r.throw("RangeError", fmt.Sprintf("Array.prototype.join would create more than %d characters or elements (the limit is %d); work on smaller pieces", maxBuiltinSize, maxBuiltinSize), nil)
		}
		if part != nil {
			b.WriteString(part)
		} else if plain != "" {
			b.WriteUTF8String(plain)
		}
	}
	return b.String()
}

// countReturns wraps the replacer function of a String.prototype.replace call so that
// the strings it returns are converted once and counted: the result, starting at
// size characters, must stay within the limit. A wrapper in Go costs far less per
// match than one in JavaScript.
func (r *run) countReturns(fn goja.Value, what string, size int) goja.Value {
	f, _ := goja.AssertFunction(fn)
	return r.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		v, err := f(goja.Undefined(), call.Arguments...)
		if err != nil {
			panic(err)
		}
		s := v.ToString()
		if str, ok := s.(goja.String); ok {
			size += str.Length()
		} else {
			size += len(s.String())
		}
		if size > maxBuiltinSize {
			r.throw("RangeError", fmt.Sprintf("%s would create more than %d characters or elements (the limit is %d); work on smaller pieces", what, maxBuiltinSize, maxBuiltinSize), nil)
		}
		return s
	})
}

// jsonText estimates the length of the text JSON.stringify makes of a value, before
// it is made: goja's JSON.stringify runs in Go, where neither Interrupt nor the
// call-stack limit reaches it, so a value that holds one 16 MB string 100 times would
// be written out whole. It also bounds the depth, since it slows down quadratically
// with it. Values that toJSON or a replacer make are not in the estimate.
type jsonText struct {
	n, limit int
	indent   int  // the characters of indentation per level
	deep     bool // the value nests deeper than allowed
}

// add adds the text of v, nested at most depth more levels, and reports whether it
// stays within the limits.
func (t *jsonText) add(v goja.Value, depth int) bool {
	switch v := v.(type) {
	case nil:
		return true
	case goja.String:
		t.n += v.Length() + 2
	case *goja.Object:
		if _, isFn := goja.AssertFunction(v); isFn {
			return true
		}
		if depth == 0 {
			t.deep = true
			return false
		}
		// The newline and indentation of an entry, and of the closing bracket.
		line := 1 + t.indent*(maxJSONDepth-depth+1)
		t.n += line
		if v.ClassName() == "Array" {
			n := v.Get("length").ToInteger()
			if t.n += 2 + int(min(n, int64(t.limit)))*(1+line); t.n > t.limit {
				return false
			}
			for i := int64(0); i < n; i++ {
				if !t.add(v.Get(strconv.FormatInt(i, 10)), depth-1) {
					return false
				}
			}
			return t.n <= t.limit
		}
		t.n += 2
		for _, k := range v.Keys() {
			if t.n += len(k) + 4 + line; t.n > t.limit || !t.add(v.Get(k), depth-1) {
				return false
			}
		}
	default:
		t.n += 4 // a number, a boolean or null: at least a few characters
	}
	return t.n <= t.limit
}

// jsonIndent returns the indentation per level that JSON.stringify's space argument
// asks for (at most 10 characters).
func jsonIndent(space goja.Value) int {
	if space == nil || goja.IsUndefined(space) || goja.IsNull(space) {
		return 0
	}
	if s, ok := space.(goja.String); ok {
		return min(s.Length(), 10)
	}
	if _, isObj := space.(*goja.Object); isObj {
		return 10
	}
	return int(max(min(space.ToInteger(), 10), 0))
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
