package scripting

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// Secrets and OAuth2 grants reach a connector call only from the flow's own code:
// system.secret('NAME') and system.grant('NAME') return handles that no JSON value
// can produce, and this.connect sends where each handle sits beside the inputs
// (ConnectRequest.Secrets), never inside them. An object {secret: NAME} or a text
// grant: 'NAME' in the inputs, from the code or from data, is plain data.
//
// A secret handle never holds the value: the engine resolves it inside the activity
// that runs the call, so nothing the script can read or log contains it.

// Kinds of handle: what a SecretRef stands for.
const (
	KindSecret = ""      // a stored secret: system.secret
	KindGrant  = "grant" // a saved OAuth2 grant: system.grant
)

// SecretRef is where a handle sat in a connect call's inputs. For a secret, the
// engine puts the secret's value there; for a grant, the grant's name, which only
// the engine trusts as a grant. The inputs themselves hold a placeholder, the text
// "[secret NAME]" (with the template around it) or "[grant NAME]", which never
// resolves.
type SecretRef struct {
	// Path is the keys from the inputs' top level down to the handle; an array's
	// element is named by its decimal index.
	Path []string `json:"path"`
	// Name is the stored secret's or saved grant's name.
	Name string `json:"name"`
	// Template, when set, is the text a secret's value goes into: {{secret}} stands
	// for the value as it is, {{secret|url}} for the value percent-encoded.
	Template string `json:"template,omitempty"`
	// Kind is KindSecret (empty) or KindGrant.
	Kind string `json:"kind,omitempty"`
}

// Template markers: where a secret's value goes in a handle's template.
const (
	secretMarker    = "{{secret}}"
	secretURLMarker = "{{secret|url}}"
)

// ApplySecretTemplate returns template with its markers replaced by value ({{secret}})
// or value percent-encoded ({{secret|url}}, safe in a URL's path and query); an empty
// template is the value alone.
func ApplySecretTemplate(template, value string) string {
	if template == "" {
		return value
	}
	encoded := strings.ReplaceAll(url.QueryEscape(value), "+", "%20")
	return strings.NewReplacer(secretMarker, value, secretURLMarker, encoded).Replace(template)
}

// SecretPlaceholder is the text a connect call's inputs hold where the secret named
// name sits: what the CONNECTION execution records and shows.
func SecretPlaceholder(name, template string) string {
	p := "[secret " + name + "]"
	if template == "" {
		return p
	}
	return strings.NewReplacer(secretMarker, p, secretURLMarker, p).Replace(template)
}

// GrantPlaceholder is the text a connect call's inputs hold where the script passed
// system.grant(name).
func GrantPlaceholder(name string) string { return "[grant " + name + "]" }

// Placeholder is the text the inputs hold where ref's handle sat.
func (ref SecretRef) Placeholder() string {
	if ref.Kind == KindGrant {
		return GrantPlaceholder(ref.Name)
	}
	return SecretPlaceholder(ref.Name, ref.Template)
}

// storedNameRE is the API's rule for names (PUT /api/v1/secrets/{name},
// PUT /api/v1/grants/{name}).
var storedNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// handle is the Go side of a secret or grant handle: a goja dynamic object, so that
// the script can neither add properties to it nor make another object that passes
// for one.
type handle struct {
	r       *run
	ref     SecretRef // without Path
	methods map[string]goja.Value
}

func (h *handle) Get(key string) goja.Value {
	if key == "name" {
		return h.r.vm.ToValue(h.ref.Name)
	}
	return h.methods[key]
}
func (h *handle) Set(string, goja.Value) bool { return false }
func (h *handle) Has(key string) bool         { return key == "name" || h.methods[key] != nil }
func (h *handle) Delete(string) bool          { return false }
func (h *handle) Keys() []string              { return nil }

// secret implements system.secret(name).
func (r *run) secret(name goja.Value) goja.Value {
	if !isString(name) || !storedNameRE.MatchString(name.String()) {
		r.throw("TypeError", "system.secret(name): name must be the name of a stored secret (1-128 letters, digits, '_', '-' or '.'), like system.secret('crm_password')", nil)
	}
	return r.secretHandle(name.String(), "")
}

// grant implements system.grant(name): the saved OAuth2 grant a REST call with
// authentication_method 'oauth2' gets its token from, as grant: system.grant(name).
func (r *run) grant(name goja.Value) goja.Value {
	if !isString(name) || !storedNameRE.MatchString(name.String()) {
		r.throw("TypeError", "system.grant(name): name must be the name of a saved OAuth2 grant (1-128 letters, digits, '_', '-' or '.'), like system.grant('crm_api')", nil)
	}
	ref := SecretRef{Name: name.String(), Kind: KindGrant}
	what := "system.grant('" + ref.Name + "')"
	h := &handle{r: r, ref: ref}
	h.methods = map[string]goja.Value{
		"toJSON": r.vm.ToValue(func() string { return GrantPlaceholder(ref.Name) }),
		"toString": r.vm.ToValue(func() string {
			r.throw("TypeError", what+" cannot be turned into text: pass it as it is, as grant: "+what+" in the inputs of this.connect", nil)
			return ""
		}),
	}
	return r.vm.NewDynamicObject(h)
}

func (r *run) secretHandle(name, template string) *goja.Object {
	h := &handle{r: r, ref: SecretRef{Name: name, Template: template}}
	what := "system.secret('" + name + "')"
	h.methods = map[string]goja.Value{
		// toJSON is what the handle is anywhere but in this.connect's inputs: text
		// that names the secret and never resolves.
		"toJSON": r.vm.ToValue(func() string { return SecretPlaceholder(name, template) }),
		"toString": r.vm.ToValue(func() string {
			r.throw("TypeError", what+" cannot be turned into text in the script, which never sees the value; to put it inside a text, write "+what+".template('Bearer {{secret}}') and pass that to this.connect", nil)
			return ""
		}),
		"template": r.vm.ToValue(func(text goja.Value) goja.Value {
			if template != "" {
				r.throw("TypeError", what+".template(text): this handle has a template already; call template once, on "+what, nil)
			}
			if !isString(text) || !strings.Contains(text.String(), secretMarker) && !strings.Contains(text.String(), secretURLMarker) {
				r.throw("TypeError", what+".template(text): text must contain {{secret}} (the value as it is) or {{secret|url}} (the value percent-encoded), like 'Bearer {{secret}}'", nil)
			}
			return r.secretHandle(name, text.String())
		}),
	}
	return r.vm.NewDynamicObject(h)
}

// connectInputs converts this.connect's inputs to JSON data, with every secret and
// grant handle in them replaced by its placeholder and listed with its place.
func (r *run) connectInputs(v goja.Value) (any, []SecretRef, error) {
	// A handle is found by identity (the replacer sees the property before toJSON
	// turns it into text) and marked with a string that only this call knows, so
	// that no value that came as data can pass for one.
	var nonce [12]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, nil, err
	}
	mark := "\x00flowd-secret-" + hex.EncodeToString(nonce[:]) + "-"
	var found []*handle
	replacer := r.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		holder, ok := call.This.(*goja.Object)
		if !ok {
			return call.Argument(1)
		}
		if o, ok := holder.Get(call.Argument(0).String()).(*goja.Object); ok {
			if h, ok := o.Export().(*handle); ok && h.r == r {
				found = append(found, h)
				return r.vm.ToValue(mark + strconv.Itoa(len(found)-1))
			}
		}
		return call.Argument(1)
	})
	stringify, _ := goja.AssertFunction(r.vm.Get("JSON").ToObject(r.vm).Get("stringify"))
	s, err := stringify(goja.Undefined(), v, replacer)
	if err != nil {
		return nil, nil, err
	}
	if goja.IsUndefined(s) {
		return nil, nil, nil
	}
	var out any
	if err := json.Unmarshal([]byte(s.String()), &out); err != nil {
		return nil, nil, err
	}
	var refs []SecretRef
	var walk func(v any, path []string) any
	walk = func(v any, path []string) any {
		switch t := v.(type) {
		case string:
			if i, err := strconv.Atoi(strings.TrimPrefix(t, mark)); err == nil && strings.HasPrefix(t, mark) && i < len(found) {
				ref := found[i].ref
				ref.Path = append([]string(nil), path...)
				refs = append(refs, ref)
				return ref.Placeholder()
			}
		case map[string]any:
			for k, e := range t {
				t[k] = walk(e, append(path, k))
			}
		case []any:
			for i, e := range t {
				t[i] = walk(e, append(path, strconv.Itoa(i)))
			}
		}
		return v
	}
	out = walk(out, nil)
	for _, ref := range refs {
		if ref.Kind == KindGrant && !slices.Equal(ref.Path, []string{"grant"}) {
			r.throw("TypeError", "this.connect: system.grant('"+ref.Name+"') names the call's OAuth2 grant and goes only in grant: system.grant('"+ref.Name+"'), not in "+strings.Join(ref.Path, "."), nil)
		}
	}
	// Maps are walked in random order: sort, so that a replay sends the same request.
	slices.SortFunc(refs, func(a, b SecretRef) int { return slices.Compare(a.Path, b.Path) })
	return out, refs, nil
}

// CheckSecretReferences returns a *ScriptError for the first object literal of the
// form {secret: ...} in src: flowd resolved it as a stored secret before handles
// existed, and now treats it as plain data, so code that still writes it would send
// the secret's name instead of its value. Data that merely contains such an object
// (strings, inputs) is not affected. It returns nil for a script that does not parse;
// Compile reports that.
func CheckSecretReferences(src string) error {
	prg, err := parser.ParseFile(nil, "", src, 0)
	if err != nil {
		return nil
	}
	var found *ast.ObjectLiteral
	walkAST(reflect.ValueOf(prg), func(n any) bool {
		if o, ok := n.(*ast.ObjectLiteral); ok && isLegacySecretRef(o) {
			found = o
			return false
		}
		return true
	})
	if found == nil {
		return nil
	}
	pos := prg.File.Position(int(found.Idx0()) - prg.File.Base())
	return &ScriptError{Line: pos.Line, Column: pos.Column, Message: fmt.Sprintf(
		"%s: an object {secret: ...} no longer refers to a stored secret in a flow's code (a value that arrives as data must never resolve); "+
			"write system.secret('NAME') instead, e.g. password: system.secret('crm_password'), "+
			"or system.secret('NAME').template('Bearer {{secret}}') for a secret inside a text. "+
			"If you mean to send an object with the one key \"secret\" as data, write its key as ['secret']",
		srcExcerpt(src, int(found.Idx0())-prg.File.Base(), int(found.Idx1())-prg.File.Base()))}
}

// CheckGrantReferences returns a *ScriptError for the first grant named by a text in
// this.connect's inputs: grant: 'NAME' in an object literal passed to this.connect,
// or beside authentication_method. A call names its grant only with
// system.grant('NAME') (or through a saved connector); the engine refuses a text,
// which could as well have come from the inputs. Grants named by other expressions
// (grant: inputs.grant) cannot be told apart from handles here: the engine refuses
// those when the call runs. It returns nil for a script that does not parse;
// Compile reports that.
func CheckGrantReferences(src string) error {
	prg, err := parser.ParseFile(nil, "", src, 0)
	if err != nil {
		return nil
	}
	var found *ast.PropertyKeyed
	check := func(o *ast.ObjectLiteral, inConnect bool) {
		if found != nil {
			return
		}
		if p := textGrant(o); p != nil && (inConnect || hasKey(o, "authentication_method")) {
			found = p
		}
	}
	walkAST(reflect.ValueOf(prg), func(n any) bool {
		switch n := n.(type) {
		case *ast.CallExpression:
			if isThisConnect(n.Callee) {
				for _, a := range n.ArgumentList {
					if o, ok := a.(*ast.ObjectLiteral); ok {
						check(o, true)
					}
				}
			}
		case *ast.ObjectLiteral:
			check(n, false)
		}
		return found == nil
	})
	if found == nil {
		return nil
	}
	from, to := int(found.Key.Idx0())-prg.File.Base(), int(found.Value.Idx1())-prg.File.Base()
	pos := prg.File.Position(from)
	name := "NAME"
	if l, ok := found.Value.(*ast.StringLiteral); ok && storedNameRE.MatchString(l.Value.String()) {
		name = l.Value.String()
	}
	return &ScriptError{Line: pos.Line, Column: pos.Column, Message: fmt.Sprintf(
		"%s: a text no longer names an OAuth2 grant in this.connect (a grant name that arrives as data must never be used); "+
			"write grant: system.grant('%s') instead, with the name in the code, or use a saved connector that has the grant",
		srcExcerpt(src, from, to), name)}
}

// textGrant returns o's property grant when its value is a string literal or a
// template without substitutions.
func textGrant(o *ast.ObjectLiteral) *ast.PropertyKeyed {
	for _, v := range o.Value {
		p, ok := v.(*ast.PropertyKeyed)
		if !ok || p.Computed || p.Kind != ast.PropertyKindValue {
			continue
		}
		if key, ok := p.Key.(*ast.StringLiteral); !ok || key.Value != "grant" {
			continue
		}
		switch t := p.Value.(type) {
		case *ast.StringLiteral:
			return p
		case *ast.TemplateLiteral:
			if t.Tag == nil && len(t.Expressions) == 0 {
				return p
			}
		}
	}
	return nil
}

// hasKey reports whether object literal o has a plain property named key.
func hasKey(o *ast.ObjectLiteral, key string) bool {
	for _, v := range o.Value {
		switch p := v.(type) {
		case *ast.PropertyKeyed:
			if k, ok := p.Key.(*ast.StringLiteral); ok && !p.Computed && k.Value.String() == key {
				return true
			}
		case *ast.PropertyShort:
			if p.Name.Name.String() == key {
				return true
			}
		}
	}
	return false
}

// isThisConnect reports whether e is this.connect.
func isThisConnect(e ast.Expression) bool {
	d, ok := e.(*ast.DotExpression)
	if !ok || d.Identifier.Name != "connect" {
		return false
	}
	_, ok = d.Left.(*ast.ThisExpression)
	return ok
}

// isLegacySecretRef reports whether o is {secret: x} or {'secret': x} or {secret}:
// one plain property named secret.
func isLegacySecretRef(o *ast.ObjectLiteral) bool {
	if len(o.Value) != 1 {
		return false
	}
	switch p := o.Value[0].(type) {
	case *ast.PropertyKeyed:
		key, ok := p.Key.(*ast.StringLiteral)
		return ok && !p.Computed && p.Kind == ast.PropertyKindValue && key.Value == "secret"
	case *ast.PropertyShort:
		return p.Name.Name == "secret"
	}
	return false
}

func srcExcerpt(src string, from, to int) string {
	if from < 0 || to > len(src) || from >= to {
		return "{secret: ...}"
	}
	s := strings.Join(strings.Fields(src[from:to]), " ")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

var (
	astPkg   = reflect.TypeOf(ast.Program{}).PkgPath()
	nodeType = reflect.TypeOf((*ast.Node)(nil)).Elem()
)

// walkAST calls visit for every node under v, depth first, until visit returns false.
// goja's ast package has no walker; this one follows the fields of its node types.
func walkAST(v reflect.Value, visit func(any) bool) bool {
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return true
		}
		return walkAST(v.Elem(), visit)
	case reflect.Pointer:
		if v.IsNil() {
			return true
		}
		return walkAST(v.Elem(), visit) // the struct case visits the node
	case reflect.Struct:
		if v.Type().PkgPath() != astPkg {
			return true
		}
		if v.CanAddr() && v.Addr().Type().Implements(nodeType) && !visit(v.Addr().Interface()) {
			return false
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && !walkAST(v.Field(i), visit) {
				return false
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if !walkAST(v.Index(i), visit) {
				return false
			}
		}
	}
	return true
}
