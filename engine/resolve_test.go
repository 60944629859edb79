package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowd/flowd/engine"
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
		call, err := r.Prepare(ctx, "crm", map[string]any{"method": "POST", "json": map[string]any{"a": 1.0}, "wait": true})
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
		if got := call.Redactor.String("pw=hunter2"); got != "pw=[redacted:pw]" {
			t.Fatalf("redactor: %q", got)
		}
	})
	t.Run("Inline", func(t *testing.T) {
		call, err := r.Prepare(ctx, "", map[string]any{"connector_type": "rest", "headers": map[string]any{"X-Key": map[string]any{"secret": "pw"}}})
		if err != nil {
			t.Fatal(err)
		}
		if call.Name != "REST" || call.Resolved["headers"].(map[string]any)["X-Key"] != "hunter2" || call.Resolved["connector_type"] != nil {
			t.Fatalf("call %+v", call)
		}
	})
	tests := []struct {
		name, saved string
		inputs      map[string]any
		want        []string
	}{
		{"ErrUnknownConnector", "nope", nil, []string{`there is no saved connector "nope"`, "PUT /api/v1/connectors/nope"}},
		{"ErrOtherType", "crm", map[string]any{"connector_type": "SOAP"}, []string{"is of type REST, not SOAP"}},
		{"ErrMissingSecrets", "", map[string]any{"connector_type": "REST", "a": map[string]any{"secret": "x"}, "b": []any{map[string]any{"secret": "y"}}},
			[]string{`secrets "x", "y" do not exist`, "PUT /api/v1/secrets/x, PUT /api/v1/secrets/y"}},
		{"ErrMissingGrant", "", map[string]any{"connector_type": "REST", "grant": "g"}, []string{`OAuth2 grant "g" does not exist`, "PUT /api/v1/grants/g"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Prepare(ctx, tt.saved, tt.inputs)
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
		if _, err := nr.Prepare(ctx, "", map[string]any{"connector_type": "REST", "url": "x"}); err != nil {
			t.Fatal(err)
		}
		if _, err := nr.Prepare(ctx, "crm", nil); engine.ErrorCode(err) != engine.EUnprocessable {
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
