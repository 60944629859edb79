package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/scripting"
	"github.com/flowd/flowd/secrets"
)

// memSaved is an in-memory SecretStore and ConnectorStore.
type memSaved struct {
	secrets    map[string]string
	connectors map[string]engine.SavedConnector
	grants     map[string]engine.SavedGrant
}

func (m *memSaved) PutSecret(_ context.Context, name, sealed string) (engine.Secret, bool, error) {
	_, existed := m.secrets[name]
	m.secrets[name] = sealed
	return engine.Secret{Name: name}, !existed, nil
}

func (m *memSaved) SealedSecret(_ context.Context, name string) (string, error) {
	s, ok := m.secrets[name]
	if !ok {
		return "", engine.Errorf(engine.ENotFound, "no secret %s", name)
	}
	return s, nil
}

func (m *memSaved) GetSecret(ctx context.Context, name string) (engine.Secret, error) {
	_, err := m.SealedSecret(ctx, name)
	return engine.Secret{Name: name}, err
}
func (m *memSaved) ListSecrets(context.Context) ([]engine.Secret, error) { return nil, nil }
func (m *memSaved) DeleteSecret(_ context.Context, name string) error {
	delete(m.secrets, name)
	return nil
}

func (m *memSaved) PutConnector(_ context.Context, c engine.SavedConnector) (engine.SavedConnector, bool, error) {
	_, existed := m.connectors[c.Name]
	m.connectors[c.Name] = c
	return c, !existed, nil
}

func (m *memSaved) GetConnector(_ context.Context, name string) (engine.SavedConnector, error) {
	c, ok := m.connectors[name]
	if !ok {
		return c, engine.Errorf(engine.ENotFound, "no connector %s", name)
	}
	return c, nil
}
func (m *memSaved) ListConnectors(context.Context) ([]engine.SavedConnector, error) { return nil, nil }
func (m *memSaved) DeleteConnector(context.Context, string) error                   { return nil }
func (m *memSaved) SetConnectorTest(_ context.Context, name string, t engine.ConnectorTest) error {
	c := m.connectors[name]
	c.LastTest = &t
	m.connectors[name] = c
	return nil
}

func (m *memSaved) PutGrant(_ context.Context, g engine.SavedGrant) (engine.SavedGrant, bool, error) {
	m.grants[g.Name] = g
	return g, true, nil
}

func (m *memSaved) GetGrant(_ context.Context, name string) (engine.SavedGrant, error) {
	g, ok := m.grants[name]
	if !ok {
		return g, engine.Errorf(engine.ENotFound, "no grant %s", name)
	}
	return g, nil
}
func (m *memSaved) ListGrants(context.Context) ([]engine.SavedGrant, error) { return nil, nil }
func (m *memSaved) DeleteGrant(context.Context, string) error               { return nil }

type fakeConnector struct{ got map[string]any }

func (f *fakeConnector) Call(_ context.Context, in map[string]any) (map[string]any, error) {
	f.got = in
	return map[string]any{"status_code": 200, "message": "GET ok"}, nil
}

func mustResolver(t *testing.T) (*engine.Resolver, *memSaved) {
	t.Helper()
	k, err := secrets.NewKeyring(bytes.Repeat([]byte{7}, secrets.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	m := &memSaved{secrets: map[string]string{}, connectors: map[string]engine.SavedConnector{}, grants: map[string]engine.SavedGrant{}}
	r := &engine.Resolver{Secrets: m, Saved: m, Keyring: k, Connectors: map[string]engine.Connector{"REST": &fakeConnector{}}}
	return r, m
}

func TestPrepare(t *testing.T) {
	ctx := context.Background()
	r, _ := mustResolver(t)
	if _, _, err := r.PutSecret(ctx, "pw", "hunter2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.PutConnector(ctx, engine.SavedConnector{Name: "crm", ConnectorType: "rest", Domains: []string{"API.example.com."},
		Inputs: map[string]any{"url": "https://api.example.com", "method": "GET", "password": map[string]any{"secret": "pw"}}}); err != nil {
		t.Fatal(err)
	}

	t.Run("MergeOverrides", func(t *testing.T) {
		call, err := r.Prepare(ctx, "crm", map[string]any{"method": "POST", "json": map[string]any{"a": 1.0}, "wait": true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(call.Resolved)
		if want := `{"json":{"a":1},"method":"POST","password":"hunter2","url":"https://api.example.com"}`; string(got) != want {
			t.Fatalf("resolved %s, want %s", got, want)
		}
		recorded, _ := json.Marshal(call.Inputs)
		if strings.Contains(string(recorded), "hunter2") || !strings.Contains(string(recorded), `"connector_type":"REST"`) {
			t.Fatalf("recorded inputs %s", recorded)
		}
		if call.Name != "crm" || call.Type != "REST" || len(call.Domains) != 1 || call.Domains[0] != "api.example.com" {
			t.Fatalf("call %+v", call)
		}
		if got := call.Redactor.String("pw=hunter2"); strings.Contains(got, "hunter2") || !strings.HasPrefix(got, "pw=[redacted") {
			t.Fatalf("redactor: %q", got)
		}
	})
	t.Run("Handles", func(t *testing.T) {
		// The script's handles, in a header, a URL template and an array; the
		// recorded inputs keep their placeholders.
		inputs := map[string]any{"connector_type": "rest",
			"headers": map[string]any{"Authorization": "Bearer [secret pw]"},
			"url":     "https://api.example.com/?key=[secret pw]",
			"json":    map[string]any{"list": []any{"x", "[secret pw]"}}}
		refs := []scripting.SecretRef{
			{Path: []string{"headers", "Authorization"}, Name: "pw", Template: "Bearer {{secret}}"},
			{Path: []string{"url"}, Name: "pw", Template: "https://api.example.com/?key={{secret|url}}"},
			{Path: []string{"json", "list", "1"}, Name: "pw"},
		}
		call, err := r.Prepare(ctx, "", inputs, refs)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(call.Resolved)
		if want := `{"headers":{"Authorization":"Bearer hunter2"},"json":{"list":["x","hunter2"]},"url":"https://api.example.com/?key=hunter2"}`; string(got) != want {
			t.Fatalf("resolved %s, want %s", got, want)
		}
		if recorded, _ := json.Marshal(call.Inputs); strings.Contains(string(recorded), "hunter2") {
			t.Fatalf("recorded inputs %s hold the value", recorded)
		}
		if inputs["json"].(map[string]any)["list"].([]any)[1] != "[secret pw]" {
			t.Fatal("Prepare changed the caller's inputs")
		}
	})
	t.Run("DataNeverResolves", func(t *testing.T) {
		// {"secret": NAME} in the call's inputs is data: inline, nested, or
		// overriding a saved connector's reference.
		data := map[string]any{"secret": "pw"}
		for _, tt := range []struct {
			name, saved string
			inputs      map[string]any
		}{
			{"Inline", "", map[string]any{"connector_type": "rest", "headers": map[string]any{"X-Key": data}, "base_path": data}},
			{"Nested", "", map[string]any{"connector_type": "rest", "json": map[string]any{"note": []any{data}}}},
			{"OverridesSaved", "crm", map[string]any{"password": data, "json": data}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				call, err := r.Prepare(ctx, tt.saved, tt.inputs, nil)
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := json.Marshal(call.Resolved); strings.Contains(string(got), "hunter2") || !strings.Contains(string(got), `{"secret":"pw"}`) {
					t.Fatalf("resolved %s", got)
				}
			})
		}
	})
	t.Run("Destination", func(t *testing.T) {
		// Without domains, a saved connector's credentials go only where it says.
		if _, _, err := r.PutConnector(ctx, engine.SavedConnector{Name: "nodom", ConnectorType: "REST",
			Inputs: map[string]any{"url": "https://api.example.com", "password": map[string]any{"secret": "pw"}}}); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"url", "scheme", "hostname", "port", "auth_url"} {
			_, err := r.Prepare(ctx, "nodom", map[string]any{k: "x"}, nil)
			if engine.ErrorCode(err) != engine.EUnprocessable || !strings.Contains(err.Error(), "may not change "+k) || !strings.Contains(err.Error(), "set domains") {
				t.Errorf("override %s: err = %v", k, err)
			}
		}
		if _, err := r.Prepare(ctx, "nodom", map[string]any{"path": "invoices", "method": "POST"}, nil); err != nil {
			t.Errorf("override path: %v", err)
		}
		if _, err := r.Prepare(ctx, "crm", map[string]any{"url": "https://api.example.com/other"}, nil); err != nil {
			t.Errorf("override url within domains: %v", err)
		}
	})
	t.Run("ErrMisplacedHandle", func(t *testing.T) {
		for _, path := range [][]string{{"nope"}, {"url"}, {"json", "list", "9"}, {"json", "list", "x"}, {}} {
			_, err := r.Prepare(ctx, "", map[string]any{"connector_type": "rest", "url": "https://x", "json": map[string]any{"list": []any{"[secret pw]"}}},
				[]scripting.SecretRef{{Path: path, Name: "pw"}})
			if engine.ErrorCode(err) != engine.EUnprocessable || !strings.Contains(err.Error(), "is not where the call says") {
				t.Errorf("path %v: err = %v", path, err)
			}
		}
	})
	tests := []struct {
		name, saved string
		inputs      map[string]any
		want        []string
	}{
		{"ErrUnknownConnector", "nope", nil, []string{`there is no saved connector "nope"`, "PUT /api/v1/connectors/nope"}},
		{"ErrOtherType", "crm", map[string]any{"connector_type": "SOAP"}, []string{"is of type REST, not SOAP"}},
		{"ErrMissingSecrets", "", map[string]any{"connector_type": "REST", "a": "[secret x]", "b": []any{"[secret y]"}},
			[]string{`secrets "x", "y" do not exist`, "PUT /api/v1/secrets/x, PUT /api/v1/secrets/y"}},
		{"ErrMissingGrant", "", map[string]any{"connector_type": "REST", "grant": "[grant g]"}, []string{`OAuth2 grant "g" does not exist`, "PUT /api/v1/grants/g"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var refs []scripting.SecretRef
			if tt.inputs["a"] != nil {
				refs = []scripting.SecretRef{{Path: []string{"a"}, Name: "x"}, {Path: []string{"b", "0"}, Name: "y"}}
			} else if tt.inputs["grant"] != nil {
				refs = []scripting.SecretRef{{Path: []string{"grant"}, Name: "g", Kind: scripting.KindGrant}}
			}
			_, err := r.Prepare(ctx, tt.saved, tt.inputs, refs)
			if engine.ErrorCode(err) != engine.EUnprocessable {
				t.Fatalf("err = %v, want EUnprocessable", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
		})
	}
	t.Run("NilResolver", func(t *testing.T) {
		var nr *engine.Resolver
		if _, err := nr.Prepare(ctx, "", map[string]any{"connector_type": "REST", "url": "x"}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := nr.Prepare(ctx, "crm", nil, nil); engine.ErrorCode(err) != engine.EUnprocessable {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestConnectorState(t *testing.T) {
	ctx := context.Background()
	r, m := mustResolver(t)
	c, _, err := r.PutConnector(ctx, engine.SavedConnector{Name: "erp", ConnectorType: "REST",
		Inputs: map[string]any{"url": "https://erp", "authentication_method": "oauth2", "grant": "g"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Code != engine.StateNeedsConfig || c.State.Reason != "Requires configuration" || strings.Join(c.State.Missing, ",") != "grant g" {
		t.Fatalf("state %+v", c.State)
	}
	m.grants["g"] = engine.SavedGrant{Name: "g", Config: map[string]any{"client_secret": map[string]any{"secret": "cs"}}}
	if st, _ := r.State(ctx, c); strings.Join(st.Missing, ",") != "secret cs" {
		t.Fatalf("state %+v", st)
	}
	r.PutSecret(ctx, "cs", "v")
	if st, _ := r.State(ctx, c); st.Code != engine.StateNotTested || st.Healthy {
		t.Fatalf("state %+v", st)
	}
	_, res, err := r.Test(ctx, "erp", nil)
	if err != nil || !res.OK {
		t.Fatalf("test %+v, %v", res, err)
	}
	if st, _ := r.State(ctx, m.connectors["erp"]); st.Code != engine.StateHealthy || !st.Healthy {
		t.Fatalf("state after test %+v", st)
	}

	for _, tt := range []struct{ name, domain string }{{"Scheme", "https://x.com"}, {"Port", "x.com:443"}, {"Path", "x.com/a"}, {"Empty", ""}} {
		t.Run("ErrDomain"+tt.name, func(t *testing.T) {
			_, _, err := r.PutConnector(ctx, engine.SavedConnector{Name: "d", ConnectorType: "REST", Domains: []string{tt.domain}})
			if engine.ErrorCode(err) != engine.EInvalid {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestValidateGrant(t *testing.T) {
	ref := map[string]any{"secret": "s"}
	tests := []struct {
		name string
		cfg  map[string]any
		want string // "" for valid
	}{
		{"ClientCredentials", map[string]any{"type": "client_credentials", "token_url": "https://t", "client_id": "c", "client_secret": ref, "params": map[string]any{"resource": "r"}}, ""},
		{"JWTAssertion", map[string]any{"type": "jwt_assertion", "token_url": "https://t", "client_id": "c", "private_key": ref, "kid": "k", "alg": "ES256"}, ""},
		{"ErrClearSecret", map[string]any{"type": "client_credentials", "token_url": "https://t", "client_id": "c", "client_secret": "plain"}, "must be a secret reference"},
		{"ErrUnknownField", map[string]any{"type": "client_credentials", "tokenurl": "https://t"}, `grant field "tokenurl" is unknown`},
		{"ErrType", map[string]any{"type": "password", "token_url": "https://t", "client_id": "c"}, `type "password" is unknown`},
		{"ErrNoTokenURL", map[string]any{"type": "client_credentials", "client_id": "c", "client_secret": ref}, "set the token URL"},
		{"ErrParams", map[string]any{"type": "client_credentials", "params": []any{"x"}}, `"params" must be an object`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := engine.ValidateGrant(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if engine.ErrorCode(err) != engine.EInvalid || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}
