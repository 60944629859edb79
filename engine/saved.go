package engine

import (
	"context"
	"encoding/json"
	"sort"
	"time"
)

// Secret is a stored secret as the API shows it: its name and dates, never its value.
type Secret struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SavedConnector is a connector type's default inputs saved under a name, which
// this.connect(name, overrides) merges with the call's inputs.
type SavedConnector struct {
	Name          string         `json:"name"`
	ConnectorType string         `json:"connector_type"`
	Inputs        map[string]any `json:"inputs"`
	// Domains, when not empty, are the only hosts calls through this connector
	// may reach ("api.example.com" or "*.example.com"), checked on every request
	// and redirect hop.
	Domains     []string       `json:"domains"`
	Description string         `json:"description"`
	State       ConnectorState `json:"state"`
	// LastTest is the outcome of the last POST .../test since the connector was
	// last saved; nil when it was not tested.
	LastTest  *ConnectorTest `json:"last_test,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// ConnectorState says whether a saved connector can be used.
type ConnectorState struct {
	Code    string `json:"code"`
	Reason  string `json:"reason"`
	Healthy bool   `json:"healthy"`
	// Missing lists what must be created first: "secret NAME" or "grant NAME".
	Missing []string `json:"missing,omitempty"`
}

// Connector state codes.
const (
	StateHealthy     = "000" // tested successfully since it was saved
	StateNeedsConfig = "001" // a secret or grant it references is missing
	StateNotTested   = "002" // complete, but not tested since it was saved
	StateTestFailed  = "003" // the last test failed
)

// ConnectorTest is the outcome of one test of a saved connector.
type ConnectorTest struct {
	OK         bool      `json:"ok"`
	Message    string    `json:"message"`
	StatusCode int       `json:"status_code,omitempty"`
	At         time.Time `json:"at"`
}

// SavedGrant is an OAuth2 grant saved under a name: the body of
// PUT /api/v1/grants/{name} (type, token_url, client_id, client_secret or
// private_key as {"secret": "NAME"}, scope, audience, params, auth_style, kid, alg).
type SavedGrant struct {
	Name      string
	Config    map[string]any
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MarshalJSON shows a grant as its config with its name and dates.
func (g SavedGrant) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(g.Config)+3)
	for k, v := range g.Config {
		m[k] = v
	}
	m["name"], m["created_at"], m["updated_at"] = g.Name, g.CreatedAt, g.UpdatedAt
	return json.Marshal(m)
}

// SecretStore keeps secrets sealed by a secrets.Keyring; it never sees a value.
// Implementations return an *Error with ENotFound for a missing secret.
type SecretStore interface {
	// PutSecret stores sealed under name, creating or replacing it, and reports
	// whether it was created.
	PutSecret(ctx context.Context, name, sealed string) (s Secret, created bool, err error)
	// SealedSecret returns the sealed value stored under name.
	SealedSecret(ctx context.Context, name string) (string, error)
	// GetSecret returns a secret's name and dates.
	GetSecret(ctx context.Context, name string) (Secret, error)
	ListSecrets(ctx context.Context) ([]Secret, error)
	DeleteSecret(ctx context.Context, name string) error
}

// ConnectorStore keeps saved connectors and OAuth2 grants. Implementations return
// an *Error with ENotFound for a missing record. State is not stored: the
// Resolver computes it.
type ConnectorStore interface {
	// PutConnector creates or replaces a saved connector (forgetting its last
	// test) and reports whether it was created.
	PutConnector(ctx context.Context, c SavedConnector) (saved SavedConnector, created bool, err error)
	GetConnector(ctx context.Context, name string) (SavedConnector, error)
	ListConnectors(ctx context.Context) ([]SavedConnector, error)
	DeleteConnector(ctx context.Context, name string) error
	// SetConnectorTest records the outcome of a test of the connector.
	SetConnectorTest(ctx context.Context, name string, t ConnectorTest) error

	PutGrant(ctx context.Context, g SavedGrant) (saved SavedGrant, created bool, err error)
	GetGrant(ctx context.Context, name string) (SavedGrant, error)
	ListGrants(ctx context.Context) ([]SavedGrant, error)
	DeleteGrant(ctx context.Context, name string) error
}

// SecretRef returns the name in a secret reference {"secret": "NAME"} (an object
// with that one key and a string value), and whether v is one.
func SecretRef(v any) (string, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", false
	}
	name, ok := m["secret"].(string)
	return name, ok
}

// SecretRefs returns the sorted, distinct names of the secrets v references
// anywhere inside it.
func SecretRefs(v any) []string {
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		if name, ok := SecretRef(v); ok {
			seen[name] = true
			return
		}
		switch t := v.(type) {
		case map[string]any:
			for _, e := range t {
				walk(e)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(v)
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// resolveRefs returns a copy of v with every secret reference replaced by its
// value from values; references missing from values stay as they are.
func resolveRefs(v any, values map[string]string) any {
	if name, ok := SecretRef(v); ok {
		if s, ok := values[name]; ok {
			return s
		}
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = resolveRefs(e, values)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = resolveRefs(e, values)
		}
		return s
	}
	return v
}
