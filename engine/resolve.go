package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/flowd/flowd/connectors/oauth"
	"github.com/flowd/flowd/secrets"
)

// Resolver turns a flow's connect call into what the connector runs: a saved
// connector's inputs merged with the call's overrides, and secret references
// {"secret": "NAME"} replaced by their values. It also stores secrets sealed,
// resolves saved OAuth2 grants for the REST connector, and computes and tests a
// saved connector's state. Secret values exist only inside the process that runs
// the call: never in workflow inputs or results, which hold references and
// redacted text.
type Resolver struct {
	Secrets    SecretStore
	Saved      ConnectorStore
	Keyring    *secrets.Keyring
	Connectors map[string]Connector // the connector types, to check saved connectors and run tests
}

// Call is a connect call ready to run.
type Call struct {
	Type string // the connector type, upper case
	Name string // the CONNECTION execution's name: the saved connector's, else the type
	// Inputs are what the execution records and the flow sees: the saved inputs
	// and the overrides merged, with connector_type, secrets still as references.
	Inputs map[string]any
	// Resolved are the inputs the connector gets: secrets resolved, without
	// connector_type and wait. Never record or return them.
	Resolved map[string]any
	Domains  []string          // the saved connector's allowlist; empty: any host
	Redactor *secrets.Redactor // replaces every secret value the call uses; nil when it uses none
}

// domainLimiter is a Connector that can limit one call to a saved connector's
// domains (connectors/rest does).
type domainLimiter interface {
	CallWithin(ctx context.Context, inputs map[string]any, domains []string) (map[string]any, error)
}

// callConnector runs one call of conn, limited to domains when there are any.
func callConnector(ctx context.Context, conn Connector, inputs map[string]any, domains []string) (map[string]any, error) {
	if len(domains) == 0 {
		return conn.Call(ctx, inputs)
	}
	dl, ok := conn.(domainLimiter)
	if !ok {
		return nil, errors.New("this connector type cannot limit its calls to the saved connector's domains; remove domains from the saved connector")
	}
	return dl.CallWithin(ctx, inputs, domains)
}

// Prepare returns the call of saved connector saved (empty: an inline call) with
// the call's inputs. It returns an *Error with EUnprocessable, whose message
// says what to create or change, when the saved connector, a grant or a secret is
// missing or a secret cannot be decrypted; other errors (the store is down) are
// worth retrying. A nil Resolver prepares inline calls without secrets.
func (r *Resolver) Prepare(ctx context.Context, saved string, inputs map[string]any) (Call, error) {
	merged := map[string]any{}
	call := Call{}
	where, savedType := "the inputs", ""
	if saved != "" {
		if r == nil || r.Saved == nil {
			return Call{}, Errorf(EUnprocessable, "saved connector %q cannot be used: this flowd worker has no saved connectors; pass the inputs inline with connector_type", saved)
		}
		c, err := r.Saved.GetConnector(ctx, saved)
		if ErrorCode(err) == ENotFound {
			return Call{}, Errorf(EUnprocessable, "there is no saved connector %q; create it with PUT /api/v1/connectors/%s, or pass the inputs inline with connector_type", saved, saved)
		} else if err != nil {
			return Call{}, err
		}
		if t, ok := inputs["connector_type"].(string); ok && !strings.EqualFold(t, c.ConnectorType) {
			return Call{}, Errorf(EUnprocessable, "saved connector %q is of type %s, not %s; remove connector_type from the call's inputs", saved, c.ConnectorType, t)
		}
		maps.Copy(merged, c.Inputs)
		call.Name, call.Domains, savedType = c.Name, c.Domains, c.ConnectorType
		where = fmt.Sprintf("saved connector %q", saved)
	}
	// The call's inputs override the saved ones key by key.
	maps.Copy(merged, inputs)
	if savedType != "" {
		merged["connector_type"] = savedType
	}
	typ, _ := merged["connector_type"].(string)
	call.Type = strings.ToUpper(typ)
	if call.Name == "" {
		call.Name = call.Type
	}

	refs := SecretRefs(merged)
	if g, ok := merged["grant"].(string); ok && g != "" && r != nil && r.Saved != nil {
		grant, err := r.Saved.GetGrant(ctx, g)
		if ErrorCode(err) == ENotFound {
			return Call{}, Errorf(EUnprocessable, "%s: OAuth2 grant %q does not exist; create it with PUT /api/v1/grants/%s", where, g, g)
		} else if err != nil {
			return Call{}, err
		}
		refs = union(refs, SecretRefs(grant.Config))
	}
	values, err := r.secretValues(ctx, refs, where)
	if err != nil {
		return Call{}, err
	}
	call.Inputs = merged
	call.Resolved = resolveRefs(merged, values).(map[string]any)
	delete(call.Resolved, "connector_type")
	delete(call.Resolved, "wait")
	call.Redactor = secrets.NewRedactor(values)
	return call, nil
}

// secretValues returns the values of the named secrets. It returns an *Error
// with EUnprocessable that names every missing secret and how to create it, or
// says which key to configure when one cannot be decrypted.
func (r *Resolver) secretValues(ctx context.Context, names []string, where string) (map[string]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if r == nil || r.Secrets == nil || r.Keyring == nil {
		return nil, Errorf(EUnprocessable, "%s refer to secrets (%s), but this flowd worker has no secret store; pass the values inline", where, strings.Join(names, ", "))
	}
	values := make(map[string]string, len(names))
	var missing []string
	for _, name := range names {
		sealed, err := r.Secrets.SealedSecret(ctx, name)
		if ErrorCode(err) == ENotFound {
			missing = append(missing, name)
			continue
		} else if err != nil {
			return nil, err
		}
		v, err := r.Keyring.Open(name, sealed)
		if err != nil {
			return nil, Errorf(EUnprocessable, "%s: %v", where, err)
		}
		values[name] = v
	}
	if len(missing) > 0 {
		return nil, Errorf(EUnprocessable, "%s: %s", where, missingSecrets(missing))
	}
	return values, nil
}

// missingSecrets says which secrets to create and how.
func missingSecrets(names []string) string {
	puts := make([]string, len(names))
	quoted := make([]string, len(names))
	for i, n := range names {
		puts[i], quoted[i] = "PUT /api/v1/secrets/"+n, fmt.Sprintf("%q", n)
	}
	if len(names) == 1 {
		return fmt.Sprintf(`secret %s does not exist; create it with %s {"value": "..."} (an object {"secret": "NAME"} in the inputs refers to a stored secret)`, quoted[0], puts[0])
	}
	return fmt.Sprintf(`secrets %s do not exist; create them with %s {"value": "..."}`, strings.Join(quoted, ", "), strings.Join(puts, ", "))
}

// Grant returns the saved OAuth2 grant name with its secrets resolved, for the
// REST connector's authentication_method oauth2. It returns an error that says
// what to create when the grant or one of its secrets is missing.
func (r *Resolver) Grant(ctx context.Context, name string) (oauth.Grant, error) {
	g, err := r.Saved.GetGrant(ctx, name)
	if err != nil {
		return oauth.Grant{}, err
	}
	values, err := r.secretValues(ctx, SecretRefs(g.Config), fmt.Sprintf("OAuth2 grant %q", name))
	if err != nil {
		return oauth.Grant{}, err
	}
	return grantOf(g.Config, values), nil
}

// PutSecret seals value and stores it as secret name, and reports whether it was
// created.
func (r *Resolver) PutSecret(ctx context.Context, name, value string) (Secret, bool, error) {
	sealed, err := r.Keyring.Seal(name, value)
	if err != nil {
		return Secret{}, false, err
	}
	return r.Secrets.PutSecret(ctx, name, sealed)
}

// PutConnector checks and saves a connector and returns it with its state. It
// returns EInvalid for an unknown connector type or a malformed domain.
func (r *Resolver) PutConnector(ctx context.Context, c SavedConnector) (SavedConnector, bool, error) {
	c.ConnectorType = strings.ToUpper(strings.TrimSpace(c.ConnectorType))
	if t, ok := c.Inputs["connector_type"]; ok {
		if s, _ := t.(string); !strings.EqualFold(s, c.ConnectorType) && c.ConnectorType != "" {
			return SavedConnector{}, false, Errorf(EInvalid, "inputs.connector_type %v differs from connector_type %q; remove it from the inputs", t, c.ConnectorType)
		}
		c.ConnectorType = strings.ToUpper(fmt.Sprint(t))
		delete(c.Inputs, "connector_type")
	}
	if _, ok := r.Connectors[c.ConnectorType]; !ok {
		return SavedConnector{}, false, Errorf(EInvalid, "connector_type %q is unknown; use one of: %s", c.ConnectorType, strings.Join(slices.Sorted(maps.Keys(r.Connectors)), ", "))
	}
	for i, d := range c.Domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if !validDomain(d) {
			return SavedConnector{}, false, Errorf(EInvalid, "domain %q is not valid: give a host name such as api.example.com, *.example.com for its subdomains, or an IP address, without scheme, port or path", c.Domains[i])
		}
		c.Domains[i] = d
	}
	if c.Inputs == nil {
		c.Inputs = map[string]any{}
	}
	if c.Domains == nil {
		c.Domains = []string{}
	}
	saved, created, err := r.Saved.PutConnector(ctx, c)
	if err != nil {
		return saved, created, err
	}
	saved.State, err = r.State(ctx, saved)
	return saved, created, err
}

var domainRE = regexp.MustCompile(`^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$`)

func validDomain(d string) bool {
	return net.ParseIP(d) != nil || (len(d) <= 253 && domainRE.MatchString(d))
}

// State computes a saved connector's state: 001 while a secret or grant it
// refers to is missing, else from its last test since it was saved.
func (r *Resolver) State(ctx context.Context, c SavedConnector) (ConnectorState, error) {
	missing, err := r.missing(ctx, c.Inputs)
	if err != nil {
		return ConnectorState{}, err
	}
	switch {
	case len(missing) > 0:
		return ConnectorState{Code: StateNeedsConfig, Reason: "Requires configuration", Missing: missing}, nil
	case c.LastTest == nil:
		return ConnectorState{Code: StateNotTested, Reason: fmt.Sprintf("Not tested; test it with POST /api/v1/connectors/%s/test", c.Name)}, nil
	case c.LastTest.OK:
		return ConnectorState{Code: StateHealthy, Reason: "Healthy", Healthy: true}, nil
	default:
		return ConnectorState{Code: StateTestFailed, Reason: "Test failed: " + c.LastTest.Message}, nil
	}
}

// missing returns what inputs refer to that does not exist: "secret NAME" and
// "grant NAME", and the secrets of the grant they name.
func (r *Resolver) missing(ctx context.Context, inputs map[string]any) ([]string, error) {
	refs := SecretRefs(inputs)
	var missing []string
	if g, ok := inputs["grant"].(string); ok && g != "" {
		grant, err := r.Saved.GetGrant(ctx, g)
		switch {
		case ErrorCode(err) == ENotFound:
			missing = append(missing, "grant "+g)
		case err != nil:
			return nil, err
		default:
			refs = union(refs, SecretRefs(grant.Config))
		}
	}
	for _, name := range refs {
		_, err := r.Secrets.SealedSecret(ctx, name)
		switch {
		case ErrorCode(err) == ENotFound:
			missing = append(missing, "secret "+name)
		case err != nil:
			return nil, err
		}
	}
	return missing, nil
}

// testTimeout bounds one test of a saved connector.
const testTimeout = 60 * time.Second

// Test runs saved connector name once with its inputs and overrides (without
// retries unless overrides set retry_backoff), records the outcome and returns the
// connector with its new state and the outcome. A connector that requires
// configuration is not run. It returns ENotFound for an unknown connector.
func (r *Resolver) Test(ctx context.Context, name string, overrides map[string]any) (SavedConnector, ConnectorTest, error) {
	c, err := r.Saved.GetConnector(ctx, name)
	if err != nil {
		return SavedConnector{}, ConnectorTest{}, err
	}
	if c.State, err = r.State(ctx, c); err != nil {
		return c, ConnectorTest{}, err
	}
	if c.State.Code == StateNeedsConfig {
		return c, ConnectorTest{Message: fmt.Sprintf("saved connector %q requires configuration first: create %s", name, strings.Join(c.State.Missing, ", ")), At: time.Now().UTC()}, nil
	}
	inputs := maps.Clone(overrides)
	if inputs == nil {
		inputs = map[string]any{}
	}
	if _, ok := inputs["retry_backoff"]; !ok {
		if _, ok := c.Inputs["retry_backoff"]; !ok {
			inputs["retry_backoff"] = map[string]any{"deadline": 0}
		}
	}
	t := ConnectorTest{}
	call, err := r.Prepare(ctx, name, inputs)
	switch {
	case ErrorCode(err) == EUnprocessable:
		t.Message = err.Error()
	case err != nil:
		return c, t, err
	default:
		t = r.run(ctx, call)
	}
	t.At = time.Now().UTC()
	if err := r.Saved.SetConnectorTest(ctx, name, t); err != nil {
		return c, t, err
	}
	c.LastTest = &t
	c.State, err = r.State(ctx, c)
	return c, t, err
}

// run makes a test call and describes how it went, redacted.
func (r *Resolver) run(ctx context.Context, call Call) ConnectorTest {
	conn, ok := r.Connectors[call.Type]
	if !ok {
		return ConnectorTest{Message: fmt.Sprintf("connector_type %q is unknown on this flowd", call.Type)}
	}
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()
	out, err := callConnector(ctx, conn, call.Resolved, call.Domains)
	t := ConnectorTest{OK: err == nil}
	if code, ok := out["status_code"].(int); ok {
		t.StatusCode = code
	}
	if err != nil {
		t.Message = call.Redactor.String(err.Error())
	} else if msg, ok := out["message"].(string); ok {
		t.Message = call.Redactor.String(msg)
	}
	return t
}

func union(a, b []string) []string {
	out := append(slices.Clone(a), b...)
	slices.Sort(out)
	return slices.Compact(out)
}
