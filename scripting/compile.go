// Package scripting runs a flow's JavaScript in goja: it checks scripts when they are
// saved, sets up the sandboxed runtime (time, randomness, stack and CPU limits), and
// exposes the flow API (`this`, `system`, `console`) on top of a narrow Host interface.
// It knows nothing of Temporal: engine implements Host on top of a workflow.
package scripting

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// ScriptError is a script that cannot be used: a syntax error, a missing handler, a
// source over the limits. Line and Column are 1-based; 0 when not tied to a place.
type ScriptError struct {
	Message string
	Line    int
	Column  int
}

func (e *ScriptError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
	}
	return e.Message
}

// Program is a checked, compiled script. It is immutable and may run in many runtimes
// at once.
type Program struct {
	name string
	prg  *goja.Program
}

// Name returns the file name used in stack traces (the flow name plus ".js").
func (p *Program) Name() string { return p.name }

var cache = struct {
	sync.Mutex
	m map[[32]byte]*Program
}{m: map[[32]byte]*Program{}}

const maxCached = 512

// Compile checks and compiles a flow's script, once per distinct (flow, source): a
// worker running many executions of one revision compiles it once. It returns a
// *ScriptError for a script that cannot run.
func Compile(flowName, src string) (*Program, error) {
	key := sha256.Sum256([]byte(flowName + "\x00" + src))
	cache.Lock()
	p, ok := cache.m[key]
	cache.Unlock()
	if ok {
		return p, nil
	}
	p, err := compile(flowName+".js", src)
	if err != nil {
		return nil, err
	}
	cache.Lock()
	if len(cache.m) >= maxCached {
		for k := range cache.m { // evict an arbitrary entry; recompiling is cheap enough
			delete(cache.m, k)
			break
		}
	}
	cache.m[key] = p
	cache.Unlock()
	return p, nil
}

func compile(name, src string) (*Program, error) {
	if err := checkShape(src); err != nil {
		return nil, err
	}
	astPrg, err := parser.ParseFile(nil, name, src, 0)
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			e := list[0]
			return nil, &ScriptError{Message: "syntax error: " + e.Message, Line: e.Position.Line, Column: e.Position.Column}
		}
		var one *parser.Error
		if errors.As(err, &one) {
			return nil, &ScriptError{Message: "syntax error: " + one.Message, Line: one.Position.Line, Column: one.Position.Column}
		}
		return nil, &ScriptError{Message: "syntax error: " + err.Error()}
	}
	if !declaresHandler(astPrg) {
		return nil, &ScriptError{Message: "the script has no handler: define `function handler(system, inputs) { ... }` at the top level"}
	}
	prg, err := goja.CompileAST(astPrg, false)
	if err != nil {
		var cerr *goja.CompilerSyntaxError
		if errors.As(err, &cerr) && cerr.File != nil {
			pos := cerr.File.Position(cerr.Offset)
			return nil, &ScriptError{Message: "syntax error: " + cerr.Message, Line: pos.Line, Column: pos.Column}
		}
		return nil, &ScriptError{Message: "the script does not compile: " + err.Error()}
	}
	return &Program{name: name, prg: prg}, nil
}

// declaresHandler reports whether the program defines `handler` at its top level, as a
// function declaration or a variable.
func declaresHandler(prg *ast.Program) bool {
	for _, st := range prg.Body {
		switch s := st.(type) {
		case *ast.FunctionDeclaration:
			if s.Function.Name != nil && s.Function.Name.Name == "handler" {
				return true
			}
		case *ast.VariableStatement:
			for _, b := range s.List {
				if id, ok := b.Target.(*ast.Identifier); ok && id.Name == "handler" {
					return true
				}
			}
		case *ast.LexicalDeclaration:
			for _, b := range s.List {
				if id, ok := b.Target.(*ast.Identifier); ok && id.Name == "handler" {
					return true
				}
			}
		}
	}
	return false
}
