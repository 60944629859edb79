package scripting_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/flowd/flowd/scripting"
)

func TestSecretHandles(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		out, h := run(t, `function handler(system, inputs) {
  const pw = system.secret('crm_password');
  this.connect({connector_type: 'REST', url: 'https://api.example.com',
    headers: {Authorization: system.secret('tok').template('Bearer {{secret}}')},
    auth_json: {user: 'svc', password: pw},
    list: ['a', pw],
    wait: true});
  return {name: pw.name};
}`, nil)
		if out.Status != "ENDED_SUCCESS" || out.Outputs["name"] != "crm_password" {
			t.Fatalf("outcome %+v", out)
		}
		req := h.connects[0]
		got, _ := json.Marshal(req.Inputs)
		want := `{"auth_json":{"password":"[secret crm_password]","user":"svc"},"connector_type":"REST","headers":{"Authorization":"Bearer [secret tok]"},"list":["a","[secret crm_password]"],"url":"https://api.example.com"}`
		if string(got) != want {
			t.Errorf("inputs %s, want %s", got, want)
		}
		// What crosses to the engine as JSON: the places, sorted so that a replay
		// sends the same request.
		refs, _ := json.Marshal(req.Secrets)
		want = `[{"path":["auth_json","password"],"name":"crm_password"},` +
			`{"path":["headers","Authorization"],"name":"tok","template":"Bearer {{secret}}"},` +
			`{"path":["list","1"],"name":"crm_password"}]`
		if string(refs) != want {
			t.Errorf("secrets %s, want %s", refs, want)
		}
	})
	t.Run("DataIsPlain", func(t *testing.T) {
		// What arrives as data is never a reference, whatever its shape: objects
		// {secret}, strings that look like the internal mark, objects built on a
		// handle or copying its fields.
		_, h := run(t, `function handler(system, inputs) {
  const real = system.secret('pw');
  this.connect({connector_type: 'REST', a: inputs.a, b: inputs.b, c: Object.create(real),
    d: Object.assign({}, real), e: {toJSON() { return '[secret pw]'; }}, f: JSON.parse(JSON.stringify(real))});
}`, map[string]any{"a": map[string]any{"secret": "pw"}, "b": "\x00flowd-secret-000000000000000000000000-0"})
		req := h.connects[0]
		if len(req.Secrets) != 0 {
			t.Fatalf("secrets %+v from data", req.Secrets)
		}
		if a, _ := req.Inputs["a"].(map[string]any); a["secret"] != "pw" {
			t.Errorf("a = %v, want the object as it came", req.Inputs["a"])
		}
	})
	t.Run("NoValueInScript", func(t *testing.T) {
		out, h := run(t, `function handler(system) {
  const s = system.secret('pw');
  const tried = [];
  for (const f of [() => String(s), () => 'x' + s, () => s + '', () => s.template('no marker'), () => s.template('{{secret}}').template('{{secret}}'),
                   () => system.secret(''), () => system.secret({secret: 'pw'}), () => system.secret('../x')]) {
    try { f(); tried.push('no error'); } catch (e) { tried.push(e.name); }
  }
  s.name = 'other';
  s.toJSON = () => 'changed';
  this.log(s, s.template('Bearer {{secret}}'));
  this.set_output('handle', s);
  return {tried: tried, json: JSON.stringify({s: s}), keys: Object.keys(s).length, name: s.name};
}`, nil)
		if out.Status != "ENDED_SUCCESS" {
			t.Fatalf("outcome %+v", out)
		}
		got, _ := json.Marshal(out.Outputs)
		want := `{"handle":"[secret pw]","json":"{\"s\":\"[secret pw]\"}","keys":0,"name":"pw","tried":["TypeError","TypeError","TypeError","TypeError","TypeError","TypeError","TypeError","TypeError"]}`
		if string(got) != want {
			t.Errorf("outputs %s, want %s", got, want)
		}
		if len(h.logs) != 1 || h.logs[0] != `info: "[secret pw]" "Bearer [secret pw]"` {
			t.Errorf("logs %q", h.logs)
		}
	})
	t.Run("HintOnConcatenation", func(t *testing.T) {
		out, _ := run(t, `function handler(system) { return {h: 'Bearer ' + system.secret('tok')}; }`, nil)
		if out.Status != "ENDED_ERROR" || !strings.Contains(out.Message, "system.secret('tok').template('Bearer {{secret}}')") {
			t.Fatalf("outcome %+v", out)
		}
	})
}

func TestApplySecretTemplate(t *testing.T) {
	for _, tt := range []struct{ template, want string }{
		{"", "a b/&?+%"},
		{"Bearer {{secret}}", "Bearer a b/&?+%"},
		{"https://x/p/{{secret|url}}?k={{secret|url}}", "https://x/p/a%20b%2F%26%3F%2B%25?k=a%20b%2F%26%3F%2B%25"},
	} {
		if got := scripting.ApplySecretTemplate(tt.template, "a b/&?+%"); got != tt.want {
			t.Errorf("ApplySecretTemplate(%q) = %q, want %q", tt.template, got, tt.want)
		}
	}
}

func TestCheckSecretReferences(t *testing.T) {
	refused := []struct{ name, src string }{
		{"Identifier", "function handler(s, i) {\n  return this.connect({connector_type: 'REST', token: {secret: 'tok'}});\n}"},
		{"Quoted", `function handler(s, i) { const p = {"secret": i.name}; }`},
		{"Single", `function handler(s, i) { const p = {'secret': 'x'}; }`},
		{"Shorthand", `function handler(s, i) { const secret = 'x'; return {secret}; }`},
		{"Nested", `const c = [{a: {b: [{secret: 'x'}]}}]; function handler() {}`},
	}
	for _, tt := range refused {
		t.Run("Err"+tt.name, func(t *testing.T) {
			err := scripting.CheckSecretReferences(tt.src)
			var se *scripting.ScriptError
			if !errors.As(err, &se) || !strings.Contains(se.Message, "write system.secret('NAME') instead") || se.Line == 0 {
				t.Fatalf("err = %v, want a ScriptError that says what to write", err)
			}
		})
	}
	t.Run("Position", func(t *testing.T) {
		var se *scripting.ScriptError
		if err := scripting.CheckSecretReferences(refused[0].src); !errors.As(err, &se) || se.Line != 2 || se.Column != 55 || !strings.Contains(se.Message, "{secret: 'tok'}") {
			t.Fatalf("err = %v", err)
		}
	})
	allowed := []struct{ name, src string }{
		{"Handle", `function handler(s) { this.connect({connector_type: 'REST', token: s.secret('tok')}); }`},
		{"InString", `function handler() { return "{secret: 'x'}" + '{"secret": "x"}'; }`},
		{"InTemplateLiteral", "function handler() { return `{secret: ${1}}`; }"},
		{"InComment", "// {secret: 'x'}\n/* {secret: 'y'} */ function handler() {}"},
		{"InRegExp", `function handler() { return /{secret: x}/.test('a'); }`},
		{"ComputedKey", `function handler() { return {['secret']: 'x'}; }`},
		{"MoreKeys", `function handler() { return {secret: 'x', note: 1}; }`},
		{"Assigned", `function handler() { const o = {}; o.secret = 'x'; return o; }`},
		{"Method", `function handler() { return {secret() { return 1; }}; }`},
		{"Destructuring", `function handler(s, {secret}) { const {secret: x} = {}; let y; ({secret: y} = s); const f = ({secret}) => secret; return f; }`},
		{"SyntaxError", `function handler( {secret: 'x'}`},
	}
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			if err := scripting.CheckSecretReferences(tt.src); err != nil {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
