package scripting_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flowd/flowd/scripting"
)

// TestShapeRefuses: every kind of nesting that makes goja's parser or compiler
// recurse, and every construct whose compiling grows faster than its size, is
// refused before parsing with the line of the place where the limit is passed.
func TestShapeRefuses(t *testing.T) {
	deep := func(open, core, close string, n int) string {
		return "function handler() {}\nx = " + strings.Repeat(open, n) + core + strings.Repeat(close, n) + ";\n"
	}
	for _, tc := range []struct {
		name, src, want string
		line            int
	}{
		{"Arrows100k", deep("a=>", "0", "", 100000), "nested too deeply", 2},
		{"Arrows20k", deep("a=>", "0", "", 20000), "nested too deeply", 2},
		{"ParenArrows", deep("()=>", "0", "", 150), "nested too deeply", 2},
		{"AsyncArrows", deep("async a=>", "0", "", 150), "nested too deeply", 2},
		{"Void50k", deep("void ", "0", "", 50000), "nested too deeply", 2},
		{"Typeof", deep("typeof ", "0", "", 70000), "nested too deeply", 2},
		{"Delete", deep("delete ", "a", "", 150), "nested too deeply", 2},
		{"New", deep("new ", "X", "", 100000), "nested too deeply", 2},
		{"Await", "async function handler() {\nreturn " + strings.Repeat("await ", 150) + "0; }", "nested too deeply", 2},
		{"Bang", deep("!", "0", "", 150), "nested too deeply", 2},
		{"Tilde", deep("~", "0", "", 150), "nested too deeply", 2},
		{"UnaryPlusMinus", deep("+-", "0", "", 80), "nested too deeply", 2},
		{"PrefixIncrement", deep("++", "a", "", 150), "nested too deeply", 2},
		{"Spread", "function handler() {}\nf(" + strings.Repeat("...", 150) + "a);", "nested too deeply", 2},
		{"Assignments", "function handler() {}\n" + strings.Repeat("a = ", 100000) + "0;", "nested too deeply", 2},
		{"CompoundAssignments", "function handler() {}\n" + strings.Repeat("a += ", 150) + "0;", "nested too deeply", 2},
		{"Ternaries", deep("a ? b : ", "c", "", 150), "nested too deeply", 2},
		{"TernariesInConsequent", deep("a ? ", "b", " : c", 150), "nested too deeply", 2},
		{"Exponent", deep("a ** ", "a", "", 150), "nested too deeply", 2},
		{"Parens", deep("(", "1", ")", 200000), "nested too deeply", 2},
		{"Brackets", deep("[", "1", "]", 150), "nested too deeply", 2},
		{"Objects", deep("{a: ", "1", "}", 150), "nested too deeply", 2},
		{"Templates", deep("`${", "1", "}`", 80), "nested too deeply", 2},
		{"Functions", deep("function () { return ", "1", "}", 150), "nested too deeply", 2},
		{"Classes", deep("class extends ", "X", " {}", 150), "nested too deeply", 2},
		{"Yield", "function* handler() {\n" + strings.Repeat("yield ", 150) + "0; }", "nested too deeply", 2},
		{"If", "function handler() {}\n" + strings.Repeat("if (a) ", 70000) + "x;", "nested too deeply", 2},
		{"IfOnNewLines", "function handler() {}\n" + strings.Repeat("if (a)\n", 150) + "x;", "nested too deeply", 101},
		{"While", "function handler() {}\n" + strings.Repeat("while (a) ", 150) + "x;", "nested too deeply", 2},
		{"For", "function handler() {}\n" + strings.Repeat("for (;;) ", 150) + "x;", "nested too deeply", 2},
		{"Do", "function handler() {}\n" + strings.Repeat("do ", 150) + "x;", "nested too deeply", 2},
		{"Labels", "function handler() {}\n" + strings.Repeat("a: ", 150) + "x;", "more than 100 labels", 2},
		{"NestedLabels", "function handler() {}\n" + strings.Repeat("a: {", 99) + "x;" + strings.Repeat("}", 99), "nested too deeply", 2},
		{"ManyLabels", "function handler() {}\n" + strings.Repeat("a: x;\n", 150), "more than 100 labels", 102},
		{"Mixed", deep("!(void typeof new a => b = c ? ", "d", ": e)", 20), "nested too deeply", 2},
		{"BinaryChain", deep("a + ", "a", "", 100000), "more than 200 operators", 2},
		{"LogicalChain", deep("a || ", "a", "", 300), "more than 200 operators", 2},
		{"MemberChain", deep("", "a", ".b", 300), "more than 200 operators", 2},
		{"OptionalChain", deep("", "a", "?.b", 300), "more than 200 operators", 2},
		{"CallChain", deep("", "a", "()", 300), "more than 200 operators", 2},
		{"IndexChain", deep("", "a", "[0]", 300), "more than 200 operators", 2},
		{"TagChain", deep("", "a", "``", 300), "more than 200 operators", 2},
		{"GroupedChain", deep("(", "a", " + a)", 99) + "x = " + strings.Repeat("(", 50) + "a" + strings.Repeat(" + a + a + a + a + a)", 50) + ";", "more than 200 operators", 3},
		{"ArrowParams", deep("(a = ", "0", ") => 0", 20), "arrow function parameter lists", 2},
		{"AsyncArrowParams", deep("async (a = ", "0", ") => 0", 20), "arrow function parameter lists", 2},
		{"NestedRegexRepeat", "function handler() {}\nx = /" + strings.Repeat("(?:", 100) + "a" + strings.Repeat("){2}", 100) + "/;", "regular expressions", 2},
		{"ManyRegexRepeats", "function handler() {}\n" + strings.Repeat("x = /[^d]{1000}/;\n", 200), "regular expressions", 100},
		{"ManyRegexes", "function handler() {}\n" + strings.Repeat("x = /a/;\n", 10000), "regular expressions", 4763},
		{"AmbiguousSlash", "function* handler() {}\nfunction* g() { yield /'/; }", "wrap the regular expression in parentheses", 2},
		{"AmbiguousSlashAfterBrace", "function handler() {}\nif (a) {} /\"/.test(x);", "wrap the regular expression in parentheses", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scripting.Compile("t", tc.src)
			var se *scripting.ScriptError
			if !errors.As(err, &se) || !strings.Contains(se.Message, tc.want) || se.Line != tc.line {
				t.Fatalf("got %v, want a ScriptError at line %d with %q", err, tc.line, tc.want)
			}
		})
	}
}

// TestShapeAccepts: scripts shaped like real ones pass, however long, and nesting
// just under the limits passes too.
func TestShapeAccepts(t *testing.T) {
	lines := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(f(i) + "\n")
		}
		return b.String()
	}
	for _, tc := range []struct{ name, src string }{
		{"NoSemicolons", lines(500, func(i int) string { return fmt.Sprintf("x%d = !a + b", i) })},
		{"SequentialIfs", lines(500, func(i int) string { return fmt.Sprintf("if (a) { x = %d } else { y = -x }", i) })},
		{"SequentialIfsOneLine", strings.Repeat("if (a) { x = 1 } ", 500)},
		{"ElseIfChain", "if (a) x = 1\n" + lines(500, func(i int) string { return fmt.Sprintf("else if (a === %d) x = typeof b", i) })},
		{"Switch", "switch (x) {\n" + lines(1000, func(i int) string { return fmt.Sprintf("case %d: y = !z; break", i) }) + "}"},
		{"LongBoolean", "x = " + strings.Repeat("!a && typeof b === 'c' || ", 60) + "d"},
		{"LongConcatenation", "x = " + strings.Repeat("'<td>' + row.cells.name + ", 60) + "'</td>'"},
		{"BuilderChain", "x = q" + strings.Repeat(".where('a', 1)", 100)},
		{"ObjectLiterals", lines(500, func(i int) string { return fmt.Sprintf("x = {a: %d, b: {c: [1, {d: !e}]}, f: g ? h : i}", i) })},
		{"Arrows", lines(300, func(i int) string { return "xs = ys.map((y) => y.z).filter(({a}) => !a).reduce((s, v) => s + v, 0)" })},
		{"Defaults", "f = ({a = 1, b = () => 2} = {}, [c] = [], cb = (x = 1) => x) => a"},
		{"Regexes", lines(200, func(i int) string {
			return `if (/^(\d{3})-(\d{4})$/.test(s) && s.replace(/["'()]/g, '') !== ")") x = s.split(/[,;]/)`
		})},
		{"RegexAfterBlock", "if (a) {}\n/[(]/.test(s)"},
		{"DivisionAfterBlock", "x = {}.a / 2 / b"},
		{"Templates", lines(300, func(i int) string { return "x = `a ${b ? `c ${d}` : '}'} (` + f(`${g}`)" })},
		{"CommentsAndStrings", lines(300, func(i int) string { return "x = '((((' + \"[[[[\" // ((((\n/* {{{{ */ y = `)`" })},
		{"Labels", "outer: for (;;) { inner: for (;;) { break outer } }"},
		{"Nesting99", "x = " + strings.Repeat("(", 97) + "1" + strings.Repeat(")", 97)},
		{"Unary99", "x = " + strings.Repeat("!", 97) + "1"},
		{"Chain200", "x = a" + strings.Repeat(" + a", 199)},
		{"Yield", "function* g() { const x = yield a / 2; yield /a/ }"},
		{"LetDestructuring", lines(300, func(i int) string { return fmt.Sprintf("let {a: b%d, c: [d%d]} = e; let [f%d] = g", i, i, i) })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "function handler() {}\n" + tc.src
			if _, err := scripting.Compile("t", src); err != nil {
				t.Fatalf("a script like a real one is refused: %v", err)
			}
		})
	}
}
