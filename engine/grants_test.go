package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/scripting"
)

// TestPrepareGrant: a call's OAuth2 grant is the one the flow's code named with
// system.grant or its saved connector's; a grant named by a text in the call's
// inputs, which may be data, is refused.
func TestPrepareGrant(t *testing.T) {
	ctx := context.Background()
	r, m := mustResolver(t)
	r.PutSecret(ctx, "cs", "client-secret-value")
	m.grants["g"] = engine.SavedGrant{Name: "g", Config: map[string]any{"client_secret": map[string]any{"secret": "cs"}}}
	m.grants["other"] = engine.SavedGrant{Name: "other", Config: map[string]any{}}
	if _, _, err := r.PutConnector(ctx, engine.SavedConnector{Name: "erp", ConnectorType: "REST",
		Inputs: map[string]any{"url": "https://erp.example.com", "authentication_method": "oauth2", "grant": "g"}}); err != nil {
		t.Fatal(err)
	}
	handle := func(name string) []scripting.SecretRef {
		return []scripting.SecretRef{{Path: []string{"grant"}, Name: name, Kind: scripting.KindGrant}}
	}
	inline := func(grant any) map[string]any {
		return map[string]any{"connector_type": "REST", "url": "https://api.example.com", "authentication_method": "oauth2", "grant": grant}
	}

	ok := []struct {
		name      string
		saved     string
		inputs    map[string]any
		refs      []scripting.SecretRef
		grant     any // in the resolved inputs
		recorded  any // in the recorded inputs
		redacts   bool
		wantNoKey bool
	}{
		{"Handle", "", inline("[grant g]"), handle("g"), "g", "[grant g]", true, false},
		{"SavedConnector", "erp", map[string]any{"params": map[string]any{"a": "1"}}, nil, "g", "g", true, false},
		{"SavedOverriddenByHandle", "erp", map[string]any{"grant": "[grant other]"}, handle("other"), "other", "[grant other]", false, false},
		{"SavedDroppedByNull", "erp", map[string]any{"grant": nil}, nil, nil, nil, false, false},
		{"NoGrant", "", map[string]any{"connector_type": "REST", "url": "https://x"}, nil, nil, nil, false, true},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			call, err := r.Prepare(ctx, tt.saved, tt.inputs, tt.refs)
			if err != nil {
				t.Fatal(err)
			}
			if got, set := call.Resolved["grant"]; got != tt.grant || tt.wantNoKey && set {
				t.Errorf("resolved grant %v, want %v", got, tt.grant)
			}
			if got := call.Inputs["grant"]; got != tt.recorded {
				t.Errorf("recorded grant %v, want %v", got, tt.recorded)
			}
			if got := call.Redactor.String("client-secret-value"); tt.redacts == strings.Contains(got, "client-secret-value") {
				t.Errorf("redactor gives %q for the grant's secret", got)
			}
		})
	}

	refused := []struct {
		name   string
		saved  string
		inputs map[string]any
		refs   []scripting.SecretRef
		want   string
	}{
		// The old way: a text names the grant, and may have come from the flow's inputs.
		{"ErrText", "", inline("g"), nil, "write grant: system.grant('g') in this.connect"},
		{"ErrPlaceholderAsData", "", inline("[grant g]"), nil, "system.grant('NAME')"},
		{"ErrObject", "", inline(map[string]any{"grant": "g"}), nil, "must be named by the flow's code"},
		{"ErrSavedOverriddenByText", "erp", map[string]any{"grant": "other"}, nil, "system.grant('other')"},
		{"ErrHandleElsewhere", "", map[string]any{"connector_type": "REST", "headers": map[string]any{"X": "[grant g]"}},
			[]scripting.SecretRef{{Path: []string{"headers", "X"}, Name: "g", Kind: scripting.KindGrant}}, "is not where the call says it is"},
		{"ErrHandleNotThere", "", inline("h"), handle("g"), "is not where the call says it is"},
		{"ErrUnknownKind", "", inline("[grant g]"), []scripting.SecretRef{{Path: []string{"grant"}, Name: "g", Kind: "token"}}, `handles of kind "token"`},
		{"ErrMissing", "", inline("[grant nope]"), handle("nope"), `OAuth2 grant "nope" does not exist; create it with PUT /api/v1/grants/nope`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Prepare(ctx, tt.saved, tt.inputs, tt.refs)
			if engine.ErrorCode(err) != engine.EUnprocessable || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want EUnprocessable with %q", err, tt.want)
			}
		})
	}

	t.Run("ErrTestOverride", func(t *testing.T) {
		// A saved connector's test takes the same path.
		_, res, err := r.Test(ctx, "erp", map[string]any{"grant": "other"})
		if err != nil || res.OK || !strings.Contains(res.Message, "system.grant('other')") {
			t.Fatalf("test %+v, %v", res, err)
		}
	})
}
