package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowd/flowd/connectors/oauth"
	"github.com/flowd/flowd/scripting"
	"github.com/flowd/flowd/secrets"
)

// Resolver turns a flow's connect call into what the connector runs: a saved
// connector's inputs merged with the call's overrides, and the secrets named by
// the saved connector ({"secret": "NAME"}) or by the flow's code (system.secret
// handles) replaced by their values, and the OAuth2 grant named by either
// (system.grant); see Prepare for why nothing else can name one. It also stores secrets sealed,
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

// CallConnector runs one call of conn, limited to domains when there are any: the one
// place that checks that conn can limit its calls.
func CallConnector(ctx context.Context, conn Connector, inputs map[string]any, domains []string) (map[string]any, error) {
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
// the call's inputs and the places of the script's secret and grant handles in
// them (refs). Only two things name a secret: an object {"secret": "NAME"} in the
// saved connector's inputs (which editors store) and refs (which only the flow's
// code makes, with system.secret); an object {"secret": "NAME"} in the call's
// inputs is data and is passed on as it is, because the call's inputs may come
// from anyone who runs the flow. Likewise the call's OAuth2 grant (its input
// "grant") is the saved connector's or one the code named with system.grant,
// never a text in the call's inputs (see callGrant). It returns an *Error with
// EUnprocessable, whose message says what to create or change, when the saved
// connector, a grant or a secret is missing, a secret cannot be decrypted or a
// grant is named by data; other errors (the store is down) are worth retrying.
// A nil Resolver prepares inline calls without secrets.
func (r *Resolver) Prepare(ctx context.Context, saved string, inputs map[string]any, refs []scripting.SecretRef) (Call, error) {
	merged := map[string]any{}
	savedInputs := map[string]any{} // the saved inputs the call does not override
	call := Call{}
	where, savedType := "this.connect", ""
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
		if err := checkDestination(c, inputs); err != nil {
			return Call{}, err
		}
		maps.Copy(merged, c.Inputs)
		for k, v := range c.Inputs {
			if _, overridden := inputs[k]; !overridden {
				savedInputs[k] = v
			}
		}
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

	g, err := callGrant(where, inputs, savedInputs, refs)
	if err != nil {
		return Call{}, err
	}
	names := SecretRefs(savedInputs)
	for _, ref := range refs {
		if ref.Kind == scripting.KindSecret {
			names = union(names, []string{ref.Name})
		}
	}
	if g != "" && r != nil && r.Saved != nil {
		grant, err := r.Saved.GetGrant(ctx, g)
		if ErrorCode(err) == ENotFound {
			return Call{}, Errorf(EUnprocessable, "%s: OAuth2 grant %q does not exist; create it with PUT /api/v1/grants/%s", where, g, g)
		} else if err != nil {
			return Call{}, err
		}
		names = union(names, SecretRefs(grant.Config))
	}
	values, err := r.secretValues(ctx, names, where)
	if err != nil {
		return Call{}, err
	}
	call.Inputs = merged
	resolved := maps.Clone(merged)
	for k, v := range savedInputs {
		resolved[k] = resolveRefs(v, values)
	}
	for _, ref := range refs {
		if ref.Kind != scripting.KindSecret {
			continue
		}
		v, err := placeSecret(resolved, ref, values[ref.Name])
		if err != nil {
			return Call{}, err
		}
		resolved = v.(map[string]any)
	}
	if g != "" {
		resolved["grant"] = g
	}
	call.Resolved = resolved
	delete(call.Resolved, "connector_type")
	delete(call.Resolved, "wait")
	call.Redactor = secrets.NewRedactor(values)
	return call, nil
}

// callGrant returns the name of the OAuth2 grant a call may use: the one the
// flow's code named with system.grant (a ref of KindGrant at the inputs' key
// "grant"), else the saved connector's when the call does not override it, else
// none. A grant named by any other value of the call's inputs is refused, not
// ignored: those inputs may be data from whoever runs the flow (its inputs, a
// webhook's body, a setting, a connection's outputs), and a grant's token goes
// wherever the call goes. It returns an *Error with EUnprocessable that says
// what to write instead.
func callGrant(where string, inputs, savedInputs map[string]any, refs []scripting.SecretRef) (string, error) {
	var named string
	for _, ref := range refs {
		switch ref.Kind {
		case scripting.KindSecret:
		case scripting.KindGrant:
			if named != "" || !slices.Equal(ref.Path, []string{"grant"}) || inputs["grant"] != ref.Placeholder() {
				return "", Errorf(EUnprocessable, "%s: grant %q is not where the call says it is; pass grant: system.grant('%s') in the inputs of this.connect", where, ref.Name, ref.Name)
			}
			named = ref.Name
		default:
			return "", Errorf(EUnprocessable, "%s: this flowd worker does not know handles of kind %q; run the flow on a worker of the same flowd version as the one that started it", where, ref.Kind)
		}
	}
	if named != "" {
		return named, nil
	}
	v, set := inputs["grant"]
	if !set {
		name, _ := savedInputs["grant"].(string)
		return name, nil
	}
	if v == nil || v == "" {
		return "", nil // the call drops the saved connector's grant
	}
	name, _ := v.(string)
	if !nameRE.MatchString(name) {
		name = "NAME"
	}
	return "", Errorf(EUnprocessable, "%s: the OAuth2 grant must be named by the flow's code, not by a value in the call's inputs, which may have come as data "+
		"(the flow's inputs, a webhook's body, a setting, another call's outputs) from whoever runs the flow; write grant: system.grant('%s') in this.connect, "+
		"with the name written in the code, or save a connector with the grant (PUT /api/v1/connectors/{name}) and call it by its name", where, name)
}

// destinationInputs are the REST inputs that decide which hosts a call reaches, and
// which servers it trusts to be those hosts (verify_ssl, cacert).
var destinationInputs = []string{"url", "scheme", "hostname", "port", "auth_url", "verify_ssl", "cacert"}

// checkDestination refuses a call that would send saved connector c's stored
// credentials (its secrets or grant) somewhere else than c says, when c has no
// domains to bound where they may go: the overrides may come from whoever runs
// the flow. It returns an *Error with EUnprocessable that says what to do.
func checkDestination(c SavedConnector, overrides map[string]any) error {
	if len(c.Domains) > 0 || (len(SecretRefs(c.Inputs)) == 0 && c.Inputs["grant"] == nil) {
		return nil
	}
	for _, k := range destinationInputs {
		if _, ok := overrides[k]; ok {
			return Errorf(EUnprocessable, "saved connector %q sends stored credentials, so a call may not change %s, which decides where they go or who can read them: "+
				"set domains on the saved connector (PUT /api/v1/connectors/%s) to allow other hosts within them, or change its inputs", c.Name, k, c.Name)
		}
	}
	return nil
}

// placeSecret returns a copy of v with the secret value, in ref's template, at
// ref's path, where the script's inputs hold its placeholder. It copies only the
// maps and slices on the path: v itself is recorded and must not change. It
// returns an *Error with EUnprocessable when the path does not lead to the
// placeholder, which only a request not made by the scripting package can do.
func placeSecret(v any, ref scripting.SecretRef, value string) (any, error) {
	if len(ref.Path) == 0 {
		if v != scripting.SecretPlaceholder(ref.Name, ref.Template) {
			return nil, Errorf(EUnprocessable, "this.connect: secret %q is not where the call says it is; pass system.secret('%s') in the inputs of this.connect", ref.Name, ref.Name)
		}
		return scripting.ApplySecretTemplate(ref.Template, value), nil
	}
	next := scripting.SecretRef{Path: ref.Path[1:], Name: ref.Name, Template: ref.Template}
	key := ref.Path[0]
	switch t := v.(type) {
	case map[string]any:
		if e, ok := t[key]; ok {
			placed, err := placeSecret(e, next, value)
			if err != nil {
				return nil, err
			}
			m := maps.Clone(t)
			m[key] = placed
			return m, nil
		}
	case []any:
		if i, err := strconv.Atoi(key); err == nil && i >= 0 && i < len(t) {
			placed, err := placeSecret(t[i], next, value)
			if err != nil {
				return nil, err
			}
			s := slices.Clone(t)
			s[i] = placed
			return s, nil
		}
	}
	return placeSecret(nil, scripting.SecretRef{Name: ref.Name, Template: ref.Template}, value)
}

// secretValues returns the values of the named secrets. It returns an *Error
// with EUnprocessable that names every missing secret and how to create it, or
// says which key to configure when one cannot be decrypted.
func (r *Resolver) secretValues(ctx context.Context, names []string, where string) (map[string]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if r == nil || r.Secrets == nil || r.Keyring == nil {
		return nil, Errorf(EUnprocessable, "%s: secrets (%s) are needed, but this flowd worker has no secret store; run the flow on a worker with a database and a secrets key", where, strings.Join(names, ", "))
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
		return fmt.Sprintf(`secret %s does not exist; create it with %s {"value": "..."}`, quoted[0], puts[0])
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
	call, err := r.Prepare(ctx, name, inputs, nil)
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
	out, err := CallConnector(withSecrets(ctx, call.Redactor), conn, call.Resolved, call.Domains)
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
