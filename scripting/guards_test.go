package scripting_test

import (
	"strings"
	"testing"
	"time"

	"github.com/flowd/flowd/scripting"
)

// TestGuardBypasses: the guards of the built-ins that allocate in one call hold
// against the tricks that got past them: a valueOf that answers differently the second
// time, lengths past 2**32, many large strings at once, replacements that grow the
// string, and buffers. Sizes are chosen so that a broken guard allocates well under
// 1 GB and fails the test instead of the machine.
func TestGuardBypasses(t *testing.T) {
	const s4M = "const s4M = 'x'.repeat(2 ** 22); "
	for _, tc := range []struct{ name, body, want string }{
		{"RepeatValueOfTwice", "let c = 0; return 'x'.repeat({valueOf() { return c++ ? 1 : 2 ** 28; }}).length;", "RangeError: String.prototype.repeat would create 268435456 characters"},
		{"PadValueOfTwice", "let c = 0; return 'x'.padEnd({valueOf() { return c++ ? 1 : 2 ** 28; }}).length;", "RangeError: String.prototype.padEnd would create"},
		{"JoinLengthPast2To32", "return Array.prototype.join.call({length: 2 ** 32 + 1}, '').length;", "RangeError: Array.prototype.join would create 4294967297"},
		{"JoinLengthGetterTwice", "let c = 0; return Array.prototype.join.call({get length() { return c++ ? 2 ** 32 + 1 : 3; }}, '').length;", "__result=0"},
		{"JoinManyLargeStrings", s4M + "return Array(8).fill(s4M).join('').length;", "RangeError: Array.prototype.join would create"},
		{"FillLengthPast2To32", "return Array.prototype.fill.call({length: 2 ** 32 + 1}, 0).length;", "RangeError: Array.prototype.fill would create 4294967297"},
		{"FromLengthPast2To32", "return Array.from({length: 2 ** 32 + 1}).length;", "RangeError: Array.from would create 4294967297"},
		{"FromLengthGetterTwice", "let c = 0; return Array.from({get length() { return c++ ? 2 ** 25 : 2; }}).length;", "__result=2"},
		{"StringConcatSpread", s4M + "return ''.concat(...Array(8).fill(s4M)).length;", "RangeError: String.prototype.concat would create 33554432"},
		{"StringConcatValueOf", "let c = 0; const o = {toString() { return c++ ? 'x'.repeat(2 ** 24) : 'y'; }}; return ''.concat(o).length;", "__result=1"},
		{"ArrayConcatThisLengthGetterTwice", "let c = 0; return Array.prototype.concat.call({get length() { return c++ ? 2 ** 25 : 2; }, [Symbol.isConcatSpreadable]: true}).length;", "__result=2"},
		{"ArrayConcatSpreadable", "return [].concat({length: 2 ** 25, [Symbol.isConcatSpreadable]: true}).length;", "RangeError: Array.prototype.concat would create 33554432"},
		{"JSONManyLargeStrings", s4M + "return JSON.stringify(Array(8).fill(s4M)).length;", "RangeError: JSON.stringify would create more than"},
		{"JSONReplacer", s4M + "return JSON.stringify(Array(8).fill(0), (k, v) => k === '' ? v : s4M).length;", "RangeError: JSON.stringify would create more than"},
		{"JSONIndent", "return JSON.stringify(Array(2 ** 15).fill([[[[[[[[1]]]]]]]]), null, 10).length;", "RangeError: JSON.stringify would create more than"},
		{"JSONHoles", "return JSON.stringify(new Array(2 ** 24)).length;", "RangeError: JSON.stringify would create more than"},
		{"ReplaceAllLargeString", s4M + "return 'x'.repeat(100).replaceAll('x', s4M).length;", "RangeError: String.prototype.replaceAll would create"},
		{"ReplaceRegexLargeString", s4M + "return 'x'.repeat(100).replace(/x/g, s4M).length;", "RangeError: String.prototype.replace would create"},
		{"ReplaceFunction", s4M + "return 'x'.repeat(100).replace(/x/g, () => s4M).length;", "RangeError: String.prototype.replace would create"},
		{"ReplaceDollarBacktick", "return 'x'.repeat(8000).replaceAll('x', '$`').length;", "RangeError: String.prototype.replaceAll would create"},
		{"ReplaceDollarQuote", "return 'x'.repeat(8000).replace(/x/g, \"$'$'\").length;", "RangeError: String.prototype.replace would create"},
		{"Uint8Array", "return new Uint8Array(2 ** 27).length;", "RangeError: new Uint8Array would allocate 134217728 bytes"},
		{"Uint8ArrayFill", "return new Uint8Array(2 ** 28).fill(1).length;", "RangeError: new Uint8Array would allocate 268435456 bytes"},
		{"Float64Array", "return new Float64Array(2 ** 24).length;", "RangeError: new Float64Array would allocate 134217728 bytes"},
		{"TypedArrayFromArrayLike", "return new Int32Array({length: 2 ** 25}).length;", "RangeError: new Int32Array would allocate"},
		{"TypedArrayFrom", "return Uint8Array.from({length: 2 ** 27}).length;", "RangeError: new Uint8Array would allocate"},
		{"ArrayBuffer", "return new ArrayBuffer(2 ** 28).byteLength;", "RangeError: new ArrayBuffer would allocate 268435456 bytes"},
		{"ArrayBufferValueOfTwice", "let c = 0; return new ArrayBuffer({valueOf() { return c++ ? 2 ** 27 : 1; }}).byteLength;", "__result=1"},
		{"ReplacedNumber", "Number = () => 0; Math.trunc = () => 0; return 'x'.repeat(2 ** 28).length;", "RangeError: String.prototype.repeat would create"},
		{"ReplacedIterator", "Array.prototype[Symbol.iterator] = function* () {}; return [].concat({length: 2 ** 25, [Symbol.isConcatSpreadable]: true}).length;", "RangeError: Array.prototype.concat would create"},
		{"ReplacedArrayBuffer", "ArrayBuffer = function () {}; return new Uint8Array(2 ** 27).length;", "RangeError: new Uint8Array would allocate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := runGuardTest(t, "function handler() {\n"+tc.body+"\n}")
			if strings.HasPrefix(tc.want, "__") {
				if got := "__" + flat(out.Outputs); out.Status != "ENDED_SUCCESS" || got != tc.want {
					t.Fatalf("got %s %q %s, want %s", out.Status, out.Message, got, tc.want)
				}
				return
			}
			if out.Status != "ENDED_ERROR" || !strings.Contains(out.Message, tc.want) || !strings.Contains(out.Message, "(t.js:2:") {
				t.Fatalf("got %s %q, want ENDED_ERROR with %q at t.js:2", out.Status, out.Message, tc.want)
			}
		})
	}
}

// TestGuardedBuiltinsStillWork: the wrapped built-ins behave as the standard says.
func TestGuardedBuiltinsStillWork(t *testing.T) {
	for _, tc := range []struct{ name, expr, want string }{
		{"Repeat", "'ab'.repeat(3)", "ababab"},
		{"RepeatNaN", "'ab'.repeat(NaN)", ""},
		{"RepeatNegative", "(() => { try { 'a'.repeat(-1); } catch (e) { return e.name; } })()", "RangeError"},
		{"RepeatOnNull", "(() => { try { String.prototype.repeat.call(null, 1); } catch (e) { return e.name; } })()", "TypeError"},
		{"Pad", "'5'.padStart(3, '0') + '|' + 'a'.padEnd(4, 'xy') + '|' + 'a'.padEnd(2 ** 40, '')", "005|axyx|a"},
		{"StringConcat", "'a'.concat(1, null, [2, 3])", "a1null2,3"},
		{"ReplaceDollars", "'John Smith'.replace(/(\\w+)\\s(?<last>\\w+)/, '$2, $1 ($<last>) $$ [$&]')", "Smith, John (Smith) $ [John Smith]"},
		{"ReplaceBeforeAfter", "'abc'.replace('b', \"[$`|$']\")", "a[a|c]c"},
		{"ReplaceTwoDigitGroup", "'abcdefghijk'.replace(/(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)/, '$11-$10-$1-$01-$12')", "k-j-a-a-a2"},
		{"ReplaceAll", "'a.b.c'.replaceAll('.', '-')", "a-b-c"},
		{"ReplaceAllEmpty", "'abc'.replaceAll('', '_')", "_a_b_c_"},
		{"ReplaceFunction", "'a1b2'.replace(/\\d/g, (d, i, s) => '<' + d * 2 + i + s.length + '>')", "a<214>b<434>"},
		{"ReplaceAllNonGlobal", "(() => { try { 'a'.replaceAll(/a/, 'b'); } catch (e) { return e.name; } })()", "TypeError"},
		{"Join", "[1, [2, [3, null]], undefined, 'x'].join('-')", "1-2,3,--x"},
		{"JoinDefault", "String([1, 2]) + '|' + [].join() + '|' + Array(3).join('ab')", "1,2||abab"},
		{"JoinCycle", "(() => { const a = [1, 2]; a.push(a); return a.join(); })()", "1,2,"},
		{"JoinArrayLike", "Array.prototype.join.call({length: 2, 0: 'a', 1: 'b'}, '+')", "a+b"},
		{"Fill", "[1, 2, 3, 4].fill(0, 1, -1).join()", "1,0,0,4"},
		{"ArrayConcat", "[1].concat([2, 3], 4, {length: 1, 0: 5, [Symbol.isConcatSpreadable]: true}).join()", "1,2,3,4,5"},
		{"ArrayConcatSpecies", "(() => { class A extends Array {} const a = new A(); a.push(1); const c = a.concat([2], 3); return (c instanceof A) + ' ' + c.join(); })()", "true 1,2,3"},
		{"ArrayFrom", "Array.from('abc').join() + '|' + Array.from({length: 3}, (_, i) => i * 2).join() + '|' + Array.from(new Set([1, 1, 2])).join()", "a,b,c|0,2,4|1,2"},
		{"TypedArrays", "(() => { const b = new ArrayBuffer(8); const v = new Uint8Array(b, 2, 3); v[0] = 7; const w = new Uint8Array([1, 2, 3]); class U extends Uint8Array {} const u = new U(2); return [b.byteLength, v.length, new Uint8Array(b)[2], w.join(), Uint8Array.from([4, 5]).join(), u instanceof Uint8Array, u instanceof U, w.constructor === Uint8Array, Uint8Array.BYTES_PER_ELEMENT, w.map((x) => x * 2).join(), new Float64Array(2).length].join(' '); })()", "8 3 7 1,2,3 4,5 true true true 1 2,4,6 2"},
		{"TypedArrayWithoutNew", "(() => { try { Uint8Array(2); } catch (e) { return e.name; } })()", "TypeError"},
		{"JSON", "JSON.stringify({a: [1, 'x', null, {b: true}]}, null, 2).length + '|' + JSON.stringify({a: 1, b: 2}, (k, v) => k === 'a' ? undefined : v)", "70|{\"b\":2}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := runBounded(t, "function handler() { return String("+tc.expr+"); }")
			if got := out.Outputs["result"]; out.Status != "ENDED_SUCCESS" || got != tc.want {
				t.Fatalf("got %s %q %q, want %q", out.Status, out.Message, got, tc.want)
			}
		})
	}
}

// runGuardTest runs a script whose guard must fire, with a CPU budget well above the
// 300 ms default: some guards count what a replacer returns before they refuse, and a
// busy test machine must not turn that into a budget error.
func runGuardTest(t *testing.T, src string) scripting.Outcome {
	t.Helper()
	h := &fakeHost{now: start}
	return scripting.Run(mustCompile(t, src), h, nil, scripting.Options{Seed: 42, CPUBudget: 3 * time.Second})
}
