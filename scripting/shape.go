// The shape check: a token scan that bounds what goja's parser and compiler would
// do with a source, before they run.

package scripting

import (
	"fmt"
	"strings"
)

// Limits on a script's source, checked by a token scan before parsing: goja's parser
// and compiler recurse over the nesting of the source, and some of their work grows
// with the square of a nesting or of an operator chain, so that a small source could
// keep a core busy for minutes when it is saved (or overflow the Go stack).
const (
	// MaxScriptBytes bounds the size of a script.
	MaxScriptBytes = 512 << 10
	// MaxNesting bounds how deeply a script nests: brackets, functions, templates,
	// prefix operators (!, typeof, new, ...), assignments, arrows, ternaries, and the
	// bodies of if/else/for/while and labels.
	MaxNesting = 100
	// MaxOperatorChain bounds the operators of one expression that goja's compiler
	// walks again for each operator: binary operators, member accesses and calls.
	MaxOperatorChain = 200
	// maxArrowParamWork bounds the extra tokens goja's parser reads again for arrow
	// function parameter lists (it parses a list once as an expression, then again as
	// parameters, so nested lists cost 2^depth).
	maxArrowParamWork = 1 << 16
	// maxRegexSize and maxRegexTotal bound the size of the regular expression
	// literals once their counted repetitions are expanded (/(?:a{2}){2}/ counts 4):
	// they are compiled when the script is, and (?:(?:a{2}){2}...){2} doubles the
	// memory for each level.
	maxRegexSize  = 10000
	maxRegexTotal = 100000
	regexCost     = 20 // what each literal costs besides its size
	// maxLabels bounds the labels of a script: goja's parser compares each label with
	// every enclosing one.
	maxLabels = 100
)

// checkShape bounds the size and nesting of a source without parsing it (see the
// limits above). It returns a *ScriptError naming the line and column where a limit
// is passed.
func checkShape(src string) error {
	if len(src) > MaxScriptBytes {
		return &ScriptError{Message: fmt.Sprintf("the script is %d bytes; the limit is %d: keep data in settings or files, not in the source", len(src), MaxScriptBytes)}
	}
	return analyse(tokenize(src))
}

// tokKind is the kind of a token of the shape scan.
type tokKind uint8

const (
	tName      tokKind = iota // identifiers and keywords
	tLiteral                  // numbers, strings, regular expressions
	tPunct                    // operators and other punctuators
	tOpen                     // ( [ { ${ and the opening ` of a template
	tClose                    // ) ] } and the closing ` of a template
	tAmbiguous                // a / that reads as a regular expression or a division, with quotes in between
)

// token is one token of the shape scan. Text is set for names and punctuators.
type token struct {
	text      string
	kind      tokKind
	nl        bool   // a line break comes before it
	ends      bool   // it can end an operand, so that a following / divides and ( calls
	arrow     bool   // an opening ( whose parameters an arrow follows
	stmt      bool   // a label's or a case's colon: a statement follows
	regex     string // a regular expression literal; or a / that goja may read as one
	line, col int32
}

// Keywords by the role they play in the shape scan.
var (
	// notOperand are the names that cannot end an operand.
	notOperand = map[string]bool{
		"await": true, "break": true, "case": true, "catch": true, "class": true, "const": true, "continue": true,
		"debugger": true, "default": true, "delete": true, "do": true, "else": true, "export": true, "extends": true,
		"finally": true, "for": true, "function": true, "if": true, "import": true, "in": true, "instanceof": true,
		"let": true, "new": true, "of": true, "return": true, "switch": true, "throw": true, "try": true,
		"typeof": true, "var": true, "void": true, "while": true, "with": true, "yield": true,
	}
	// headers are the keywords whose parenthesis is followed by a statement or block.
	headers = map[string]bool{"if": true, "while": true, "for": true, "with": true, "switch": true, "catch": true}
	// prefixKeywords recurse like prefix operators: each applies to the next operand.
	prefixKeywords = map[string]bool{"typeof": true, "void": true, "delete": true, "new": true, "await": true, "extends": true}
	// bodyKeywords recurse into the statement that follows them.
	bodyKeywords = map[string]bool{"if": true, "while": true, "for": true, "with": true, "else": true, "do": true}
	// binaryKeywords are binary operators.
	binaryKeywords = map[string]bool{"in": true, "instanceof": true, "of": true}
	// contextual are the names that are keywords only in some places: yield in a
	// generator, await in an async function, of in a for, let in a declaration.
	contextual = map[string]bool{"yield": true, "await": true, "of": true, "let": true}
	// continuing are the names that continue a statement after a line break or a }.
	continuing = map[string]bool{"in": true, "instanceof": true, "of": true, "else": true, "catch": true, "finally": true}
)

// punctuators, longest first within each first byte.
var punctuators = []string{
	">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=",
	"=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "**", "<<", ">>",
}

// assignments are the assignment operators.
var assignments = map[string]bool{
	"=": true, "+=": true, "-=": true, "*=": true, "/=": true, "%=": true, "**=": true, "<<=": true, ">>=": true,
	">>>=": true, "&=": true, "|=": true, "^=": true, "&&=": true, "||=": true, "??=": true,
}

// tokenize splits a source into the tokens the shape scan needs. It never fails: on
// text that is not JavaScript it still returns tokens, and the parser reports the
// error later. It tells a regular expression from a division by the previous token,
// which can only go wrong on code that is rare (a regular expression right after a
// block's closing brace); the scan then over-counts a little.
func tokenize(src string) []token {
	toks := make([]token, 0, len(src)/4)
	line, lineStart := 1, 0
	nl := false
	type opening struct {
		b      byte // ( [ { or $ for a template's ${
		header bool // the parenthesis of an if, while, for, with, switch or catch
		block  bool // a brace that holds statements (not an object or an expression's body)
		ends   bool // a brace whose end ends an operand: an object, a function expression
		body   int8 // inside: a function or class keyword waits for its body (1 statement, 2 expression)
		ternes int  // inside: ? not yet matched by :
	}
	open := []opening{{block: true}} // the top level
	top := func() *opening { return &open[len(open)-1] }
	prevEnds := func() bool { return len(toks) > 0 && toks[len(toks)-1].ends }
	// operandExpected reports whether the last token leaves the parser expecting an
	// operand (an expression goes on) rather than a statement.
	operandExpected := func() bool {
		n := len(toks)
		if n > 0 && toks[n-1].text == "async" {
			n--
		}
		if n == 0 {
			return false
		}
		p := toks[n-1]
		switch {
		case p.kind == tName && contextual[p.text]: // let {a} = o, yield {a: 1}
			return true
		case p.ends: // an operand ends here: what follows starts a statement (or is an error)
			return false
		case p.kind == tName:
			return p.text != "else" && p.text != "do"
		case p.text == ";" || p.text == "{" || p.text == "}" || p.text == ")":
			return false
		case p.text == ":":
			return !p.stmt
		}
		return true
	}
	emit := func(kind tokKind, text string, start int, ends bool) {
		toks = append(toks, token{text: text, kind: kind, nl: nl, ends: ends, line: int32(line), col: int32(start - lineStart + 1)})
		nl = false
	}
	newline := func(i int) { line, lineStart, nl = line+1, i+1, true }
	// template scans template text from i up to its end or the next ${.
	template := func(i int) int {
		for ; i < len(src); i++ {
			switch src[i] {
			case '\\':
				if i+1 < len(src) && src[i+1] == '\n' {
					newline(i + 1)
				}
				i++
			case '\n':
				newline(i)
			case '`':
				emit(tClose, "`", i, true)
				return i + 1
			case '$':
				if i+1 < len(src) && src[i+1] == '{' {
					emit(tOpen, "${", i, false)
					open = append(open, opening{b: '$'})
					return i + 2
				}
			}
		}
		return i
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\n':
			newline(i)
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f':
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				end = len(src) - i - 2
			}
			for j := i + 2; j < i+2+end; j++ {
				if src[j] == '\n' {
					newline(j)
				}
			}
			i += end + 4
		case c == '\'' || c == '"':
			start := i
			for i++; i < len(src) && src[i] != c && src[i] != '\n'; i++ {
				if src[i] == '\\' {
					if i+1 < len(src) && src[i+1] == '\n' {
						newline(i + 1)
					}
					i++
				}
			}
			emit(tLiteral, "", start, true)
			i++
		case c == '`':
			emit(tOpen, "`", i, false)
			i = template(i + 1)
		case c == '}' && len(open) > 1 && top().b == '$':
			open = open[:len(open)-1]
			emit(tClose, "}", i, false)
			i = template(i + 1)
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			start := i
			for i++; i < len(src); i++ {
				d := src[i]
				if (d == '+' || d == '-') && (src[i-1] == 'e' || src[i-1] == 'E') {
					continue
				}
				if !(d == '.' || d == '_' || d >= '0' && d <= '9' || d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z') {
					break
				}
			}
			emit(tLiteral, "", start, true)
		case isNameByte(c) || c == '\\' || c == '#':
			start := i
			for i++; i < len(src) && (isNameByte(src[i]) || src[i] == '\\'); i++ {
				if src[i] == '\\' {
					i++
				}
			}
			name := src[start:min(i, len(src))]
			if name == "function" || name == "class" {
				top().body = 1
				if operandExpected() {
					top().body = 2
				}
			}
			emit(tName, name, start, !notOperand[name] || contextual[name])
		case c == '/':
			// After a closing brace (a block or an object?) and after the names that
			// are keywords only in some places, goja may read a regular expression
			// where this scan reads a division, or the other way round: count the
			// regular expression either way, and refuse a text where the two readings
			// would disagree on what is a string.
			end := regexEnd(src, i)
			if n := len(toks); n > 0 && ambiguousSlash(toks[n-1]) && strings.ContainsAny(src[i+1:end], "'\"`") {
				toks = append(toks, token{kind: tAmbiguous, text: toks[n-1].text, line: int32(line), col: int32(i - lineStart + 1)})
			}
			if !prevEnds() {
				emit(tLiteral, "", i, true)
				toks[len(toks)-1].regex = src[i:end]
				i = end
				break
			}
			if ambiguousSlash(toks[len(toks)-1]) {
				emit(tPunct, "/", i, false)
				toks[len(toks)-1].regex = src[i:end]
				i++
				break
			}
			fallthrough
		default:
			p := string(c)
			for _, q := range punctuators {
				if strings.HasPrefix(src[i:], q) {
					p = q
					break
				}
			}
			if p == "?." && i+2 < len(src) && src[i+2] >= '0' && src[i+2] <= '9' {
				p = "?" // a ? .5 : 1
			}
			switch p {
			case "(", "[":
				header := false
				if n := len(toks); p == "(" && n > 0 && toks[n-1].kind == tName {
					header = headers[toks[n-1].text]
				}
				open = append(open, opening{b: p[0], header: header})
				emit(tOpen, p, i, false)
			case "{":
				o := opening{b: '{'}
				switch t := top(); {
				case t.body != 0:
					o.block, o.ends = true, t.body == 2
					t.body = 0
				case len(toks) > 0 && toks[len(toks)-1].text == "=>":
					o.block = true
				default:
					o.block = !operandExpected()
					o.ends = !o.block
				}
				open = append(open, o)
				emit(tOpen, p, i, false)
			case ")", "]", "}":
				ends := true
				if len(open) > 1 {
					o := top()
					ends = o.b == '[' || o.b == '(' && !o.header || o.b == '{' && o.ends
					open = open[:len(open)-1]
				}
				emit(tClose, p, i, ends)
			case "?":
				top().ternes++
				emit(tPunct, p, i, false)
			case ":":
				emit(tPunct, p, i, false)
				if t := top(); t.ternes > 0 {
					t.ternes--
				} else if t.block {
					toks[len(toks)-1].stmt = true
				}
			case "++", "--":
				emit(tPunct, p, i, prevEnds() && !nl) // postfix
			default:
				emit(tPunct, p, i, false)
			}
			i += len(p)
		}
	}
	return toks
}

// regexEnd returns where the regular expression literal that starts at i ends
// (after its flags), or the end of the line if it does not.
func regexEnd(src string, i int) int {
	inClass := false
	for i++; i < len(src) && src[i] != '\n'; i++ {
		if src[i] == '\\' {
			i++
		} else if src[i] == '[' {
			inClass = true
		} else if src[i] == ']' {
			inClass = false
		} else if src[i] == '/' && !inClass {
			break
		}
	}
	for i++; i < len(src) && isNameByte(src[i]); i++ {
	}
	return min(i, len(src))
}

// ambiguousSlash reports whether a / after p may start a regular expression for
// goja although this scan reads a division: after a closing brace (a block or an
// object?) and after the names that are keywords only in some places.
func ambiguousSlash(p token) bool {
	return p.kind == tClose && p.text == "}" || p.kind == tName && contextual[p.text]
}

// isNameByte reports whether c may be part of a name; bytes of non-ASCII characters
// count as name bytes (Unicode spaces in code are rare, and only merge two tokens).
func isNameByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// frame is one open bracket of the shape scan, with what is pending inside it.
type frame struct {
	base  int // the nesting outside this bracket, plus one
	stmt  int // if/else/for/while/do/with bodies and labels not yet ended
	expr  int // assignments, arrows, ternaries and yields not yet ended
	unary int // prefix operators not yet ended

	chain int  // operators on the expression's leftmost spine
	post  int  // member accesses and calls of an operand right of a binary operator
	right bool // past the expression's first binary operator
	group bool // a grouping parenthesis: its chain continues outside
	arrow int  // arrow parameter lists around this bracket
}

// postfix counts a member access or call: on the spine of the expression while it is
// still in its first operand.
func (f *frame) postfix(n int) {
	if f.right {
		f.post += n
	} else {
		f.chain += n
	}
}

// binary counts a binary operator.
func (f *frame) binary() {
	f.unary, f.post, f.right = 0, 0, true
	f.chain++
}

// endExpression forgets the operators of an expression that has ended.
func (f *frame) endExpression() {
	f.expr, f.unary, f.chain, f.post, f.right = 0, 0, 0, 0, false
}

func (f *frame) depth() int { return f.base + f.stmt + f.expr + f.unary }

// analyse measures the nesting and the operator chains of a token stream the way
// goja's parser and compiler recurse over them, conservatively: a statement ends
// only at a semicolon, at a line break or a block's end followed by a token that
// cannot continue it, and at the end of its bracket.
func analyse(toks []token) error {
	// Mark the opening parenthesis of arrow parameter lists.
	var opens []int
	for i := range toks {
		switch toks[i].kind {
		case tOpen:
			opens = append(opens, i)
		case tClose:
			if n := len(opens); n > 0 {
				o := opens[n-1]
				opens = opens[:n-1]
				toks[o].arrow = toks[o].text == "(" && i+1 < len(toks) && toks[i+1].text == "=>"
			}
		}
	}

	stack := []frame{{}}
	work, regexes, labels := 0, 0, 0
	for i := range toks {
		t := &toks[i]
		f := &stack[len(stack)-1]
		var p *token
		if i > 0 {
			p = &toks[i-1]
		}
		fail := func(format string, args ...any) error {
			return &ScriptError{Message: fmt.Sprintf(format, args...), Line: int(t.line), Column: int(t.col)}
		}
		tooDeep := func() error {
			return fail("the code is nested too deeply here (more than %d levels of brackets, functions, prefix operators such as ! typeof new, assignments, arrows, ternaries, or if/else/for/while bodies): split it into functions or variables", MaxNesting)
		}
		longChain := func() error {
			return fail("this expression has more than %d operators, member accesses or calls in a row: split it into several variables", MaxOperatorChain)
		}
		if p != nil && startsStatement(t) && (t.nl && p.ends || p.kind == tClose && p.text == "}" && !p.ends) {
			f.stmt = 0
			f.endExpression()
		}
		if f.arrow > 0 {
			if work += 1<<f.arrow - 1; work > maxArrowParamWork {
				return fail("arrow function parameter lists are nested too deeply or hold too much code: move default values out of the parameter list")
			}
		}
		if t.kind == tAmbiguous {
			return fail("a / after %q reads both as a division and as a regular expression here: wrap the regular expression in parentheses", t.text)
		}
		if t.regex != "" {
			w := regexSize(t.regex)
			if regexes += w + regexCost; w > maxRegexSize || regexes > maxRegexTotal {
				return fail("the regular expressions are too many or too large once their repetitions {n} are expanded (at most %d characters for one, %d for the script, counting %d for each): use fewer or smaller repetitions", maxRegexSize, maxRegexTotal, regexCost)
			}
		}
		switch t.kind {
		case tOpen:
			postfix := p != nil && p.ends && t.text != "{" && t.text != "${"
			if postfix {
				f.postfix(1)
				if f.chain > MaxOperatorChain || f.post > MaxOperatorChain {
					return longChain()
				}
			}
			nf := frame{base: f.depth() + 1, arrow: f.arrow}
			if nf.base > MaxNesting {
				return tooDeep()
			}
			if t.arrow {
				if nf.arrow++; nf.arrow > 16 {
					return fail("arrow function parameter lists are nested too deeply: move default values out of the parameter list")
				}
			}
			nf.group = t.text == "(" && !postfix && !(p != nil && p.kind == tName && headers[p.text])
			stack = append(stack, nf)
		case tClose:
			if len(stack) > 1 {
				child := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				f = &stack[len(stack)-1]
				if child.group {
					f.postfix(child.chain)
				}
			}
		case tName:
			switch {
			case prefixKeywords[t.text]:
				f.unary++
			case t.text == "yield":
				f.expr++
			case bodyKeywords[t.text]:
				if t.text == "else" {
					// The statement before it has ended. An else-if chain is not
					// counted as nesting: goja recurses along it, but in linear time.
					f.stmt = 0
					f.endExpression()
				}
				f.stmt++
			case binaryKeywords[t.text]:
				f.binary()
			case i+1 < len(toks) && toks[i+1].stmt && t.text != "default" && statementStart(p, t):
				f.stmt++ // a label
				if labels++; labels > maxLabels {
					return fail("the script has more than %d labels: use functions instead of labelled loops", maxLabels)
				}
			}
		case tPunct:
			switch s := t.text; {
			case s == ",":
				f.endExpression()
			case s == ";":
				f.stmt = 0
				f.endExpression()
			case s == "?" || s == "=>" || assignments[s]:
				expr := f.expr + 1
				f.endExpression() // what follows is a new operand
				f.expr = expr
			case s == ":":
				f.unary, f.chain, f.post, f.right = 0, 0, 0, false
			case s == "." || s == "?.":
				f.postfix(1)
			case s == "...", s == "!", s == "~":
				f.unary++
			case s == "++" || s == "--":
				if !t.ends {
					f.unary++
				}
			case s == "**":
				f.unary++ // right-associative: it recurses
				f.chain++
			case (s == "+" || s == "-") && !(p != nil && p.ends):
				f.unary++
			default:
				f.binary()
			}
		}
		if f.depth() > MaxNesting {
			return tooDeep()
		}
		if f.chain > MaxOperatorChain || f.post > MaxOperatorChain {
			return longChain()
		}
	}
	return nil
}

// statementStart reports whether t, after p, is at the start of a statement.
func statementStart(p, t *token) bool {
	if p == nil || p.stmt || t.nl && p.ends {
		return true
	}
	switch p.text {
	case ";", "else", "do":
		return true
	case "{", "}", ")":
		return !p.ends
	}
	return false
}

// regexSize returns the size of a regular expression literal with its counted
// repetitions expanded, saturating at a large number. It reads groups, classes and
// escapes; whatever else it counts as one character each.
func regexSize(lit string) int {
	const huge = 1 << 40
	body := lit[1:]
	if end := strings.LastIndexByte(body, '/'); end >= 0 {
		body = body[:end]
	}
	sums := []int{0} // the size of each open group
	last := 0        // the size of the last atom, which a repetition multiplies
	for i := 0; i < len(body); i++ {
		switch c := body[i]; c {
		case '\\':
			i++
			last = 1
		case '[':
			for i++; i < len(body) && body[i] != ']'; i++ {
				if body[i] == '\\' {
					i++
				}
			}
			last = 1
		case '(':
			sums = append(sums, 0)
			continue
		case ')':
			if len(sums) == 1 {
				last = 1
				break
			}
			last = max(sums[len(sums)-1], 1)
			sums = sums[:len(sums)-1]
		case '|', '*', '+', '?':
			continue
		case '{':
			n, j := 0, i+1
			for ; j < len(body) && (body[j] >= '0' && body[j] <= '9' || body[j] == ','); j++ {
				if body[j] == ',' {
					continue
				}
				n = min(n*10+int(body[j]-'0'), huge)
			}
			if j < len(body) && body[j] == '}' && j > i+1 {
				// {n}, {n,} or {n,m}: the largest bound counts.
				rest := strings.Split(body[i+1:j], ",")
				n = 0
				for _, r := range rest {
					v := 0
					for k := 0; k < len(r); k++ {
						v = min(v*10+int(r[k]-'0'), huge)
					}
					n = max(n, v)
				}
				extra := huge
				if n <= 1 {
					extra = 0
				} else if last <= huge/(n-1) {
					extra = last * (n - 1)
				}
				sums[len(sums)-1] = min(sums[len(sums)-1]+extra, huge)
				last = min(last+extra, huge)
				i = j
				continue
			}
			last = 1
		default:
			last = 1
		}
		sums[len(sums)-1] = min(sums[len(sums)-1]+last, huge)
	}
	total := 0
	for _, s := range sums {
		total = min(total+s, huge)
	}
	return total
}

// startsStatement reports whether a token can start a statement but cannot continue
// the one before it, so that a line break (or a block's end) before it ends that one.
func startsStatement(t *token) bool {
	switch t.kind {
	case tName:
		return !continuing[t.text]
	case tLiteral:
		return true
	case tOpen:
		return t.text == "{"
	case tPunct:
		return t.text == "!" || t.text == "~" || t.text == "++" || t.text == "--"
	}
	return false
}
