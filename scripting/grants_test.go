package scripting_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/flowd/flowd/scripting"
)

func TestGrantHandles(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		out, h := run(t, `function handler(system, inputs) {
  const g = system.grant('crm_api');
  this.connect({connector_type: 'REST', url: 'https://api.example.com', authentication_method: 'oauth2', grant: g,
    password: system.secret('pw')});
  this.log(g);
  return {name: g.name, json: JSON.stringify({g: g})};
}`, nil)
		if out.Status != "ENDED_SUCCESS" || out.Outputs["name"] != "crm_api" || out.Outputs["json"] != `{"g":"[grant crm_api]"}` {
			t.Fatalf("outcome %+v", out)
		}
		req := h.connects[0]
		if req.Inputs["grant"] != "[grant crm_api]" {
			t.Errorf("inputs.grant = %v, want the placeholder", req.Inputs["grant"])
		}
		got, _ := json.Marshal(req.Secrets)
		want := `[{"path":["grant"],"name":"crm_api","kind":"grant"},{"path":["password"],"name":"pw"}]`
		if string(got) != want {
			t.Errorf("refs %s, want %s", got, want)
		}
	})
	t.Run("DataIsPlain", func(t *testing.T) {
		// A grant named by data is a text like any other: nothing marks it as a grant.
		_, h := run(t, `function handler(system, inputs) {
  const g = system.grant('crm_api');
  this.connect({connector_type: 'REST', authentication_method: 'oauth2', grant: inputs.grant,
    a: Object.assign({}, g), b: JSON.parse(JSON.stringify(g)), c: Object.create(g)});
}`, map[string]any{"grant": "[grant crm_api]"})
		if req := h.connects[0]; len(req.Secrets) != 0 {
			t.Fatalf("refs %+v from data", req.Secrets)
		}
	})
	t.Run("ErrMisused", func(t *testing.T) {
		out, _ := run(t, `function handler(system) {
  const g = system.grant('crm_api');
  const tried = [];
  for (const f of [() => String(g), () => 'x' + g, () => system.grant(''), () => system.grant({grant: 'x'}), () => system.grant('../x'),
                   () => this.connect({connector_type: 'REST', headers: {Authorization: g}})]) {
    try { f(); tried.push('no error'); } catch (e) { tried.push(e.name + ': ' + e.message); }
  }
  g.name = 'other';
  return {tried: tried, name: g.name};
}`, nil)
		tried, _ := out.Outputs["tried"].([]any)
		if out.Status != "ENDED_SUCCESS" || out.Outputs["name"] != "crm_api" || len(tried) != 6 {
			t.Fatalf("outcome %+v", out)
		}
		for i, e := range tried {
			if !strings.HasPrefix(e.(string), "TypeError") {
				t.Errorf("attempt %d: %v, want a TypeError", i, e)
			}
		}
		if !strings.Contains(tried[5].(string), "goes only in grant: system.grant('crm_api'), not in headers.Authorization") {
			t.Errorf("a grant handle in a header: %v", tried[5])
		}
	})
}

func TestCheckGrantReferences(t *testing.T) {
	refused := []struct{ name, src, excerpt string }{
		{"ConnectLiteral", "function handler(s) {\n  this.connect({connector_type: 'REST', url: 'https://x', grant: 'crm_api'});\n}", "grant: 'crm_api'"},
		{"SavedConnectorOverride", "function handler(s) { this.connect('erp', {grant: \"other\"}); }", `grant: "other"`},
		{"Template", "function handler(s) { this.connect({connector_type: 'REST', grant: `crm_api`}); }", "grant: `crm_api`"},
		{"BesideAuthMethod", "function handler(s) { const c = {authentication_method: 'oauth2', 'grant': 'crm_api'}; this.connect(c); }", "'grant': 'crm_api'"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			var se *scripting.ScriptError
			err := scripting.CheckGrantReferences(tt.src)
			if !errors.As(err, &se) || !strings.Contains(se.Message, "system.grant(") || !strings.Contains(se.Message, tt.excerpt) || se.Line == 0 {
				t.Fatalf("got %v, want a ScriptError naming %s and system.grant", err, tt.excerpt)
			}
		})
	}
	t.Run("Position", func(t *testing.T) {
		var se *scripting.ScriptError
		err := scripting.CheckGrantReferences(refused[0].src)
		if !errors.As(err, &se) || se.Line != 2 || se.Column != 59 || !strings.Contains(se.Message, "grant: system.grant('crm_api')") {
			t.Fatalf("got %+v", se)
		}
	})
	allowed := []struct{ name, src string }{
		{"Handle", `function handler(s) { this.connect({connector_type: 'REST', authentication_method: 'oauth2', grant: s.grant('crm_api')}); }`},
		{"DataOtherObject", `function handler(s) { this.connect({connector_type: 'REST', json: {grant: 'yes'}}); }`},
		{"NotConnect", `function handler(s) { return {grant: 'read'}; }`},
		{"Expression", `function handler(s, inputs) { this.connect({connector_type: 'REST', grant: inputs.grant}); }`},
		{"TemplateWithSubstitution", "function handler(s, i) { this.connect({connector_type: 'REST', grant: `${i.g}`}); }"},
		{"InText", `function handler(s) { return "this.connect({grant: 'x'})"; }`},
		{"Computed", `function handler(s) { this.connect({connector_type: 'REST', ['grant']: 'x'}); }`},
		{"DoesNotParse", `function handler( {`},
	}
	for _, tt := range allowed {
		t.Run(tt.name, func(t *testing.T) {
			if err := scripting.CheckGrantReferences(tt.src); err != nil {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}
