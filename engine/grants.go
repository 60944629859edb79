package engine

import (
	"maps"
	"slices"
	"strings"

	"github.com/flowd/flowd/connectors/oauth"
)

// grantFields are the fields of a saved grant; secretOnly ones must be secret
// references, so that the value is stored encrypted and never shown.
var (
	grantFields = map[string]bool{"type": true, "token_url": true, "client_id": true, "client_secret": true, "scope": true,
		"audience": true, "params": true, "auth_style": true, "private_key": true, "kid": true, "alg": true, "description": true}
	secretOnly = map[string]bool{"client_secret": true, "private_key": true}
)

// ValidateGrant checks the body of PUT /api/v1/grants/{name}. It returns an
// *Error with EInvalid that names the field to fix: an unknown field, a value
// that is neither text nor a secret reference, a client_secret or private_key
// given in clear, or a grant that cannot work (see oauth.Grant.Validate).
func ValidateGrant(cfg map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		v := cfg[k]
		if !grantFields[k] {
			return Errorf(EInvalid, "grant field %q is unknown; the fields are: %s", k, strings.Join(slices.Sorted(maps.Keys(grantFields)), ", "))
		}
		if k == "params" {
			m, ok := v.(map[string]any)
			if !ok && v != nil {
				return Errorf(EInvalid, `grant field "params" must be an object of extra token request fields, like {"resource": "https://api.example.com"}`)
			}
			for pk, pv := range m {
				if !textOrRef(pv) {
					return Errorf(EInvalid, `grant params.%s must be text or a secret reference {"secret": "NAME"}`, pk)
				}
			}
			continue
		}
		if _, isRef := SecretRef(v); secretOnly[k] && !isRef {
			return Errorf(EInvalid, `grant field %q must be a secret reference such as {"secret": "%s"}: store the value first with PUT /api/v1/secrets/%s {"value": "..."}, so that it is kept encrypted and never shown`, k, k, k)
		}
		if !textOrRef(v) {
			return Errorf(EInvalid, `grant field %q must be text or a secret reference {"secret": "NAME"}`, k)
		}
	}
	// Check the rest with stand-ins for the secrets, which may be stored later.
	stand := map[string]string{}
	for _, n := range SecretRefs(cfg) {
		stand[n] = "stand-in"
	}
	g := grantOf(cfg, stand)
	if g.Type == oauth.TypeJWTAssertion {
		g.PrivateKeyPEM = "stand-in"
	}
	if err := g.Validate(); err != nil {
		return Errorf(EInvalid, "%v", err)
	}
	return nil
}

func textOrRef(v any) bool {
	if _, ok := v.(string); ok || v == nil {
		return true
	}
	_, ok := SecretRef(v)
	return ok
}

// grantOf builds an oauth.Grant from a saved grant's config and the values of
// its secrets.
func grantOf(cfg map[string]any, values map[string]string) oauth.Grant {
	text := func(k string) string {
		v := cfg[k]
		if name, ok := SecretRef(v); ok {
			return values[name]
		}
		s, _ := v.(string)
		return s
	}
	g := oauth.Grant{
		Type: text("type"), TokenURL: text("token_url"), ClientID: text("client_id"), ClientSecret: text("client_secret"),
		Scope: text("scope"), Audience: text("audience"), AuthStyle: text("auth_style"), PrivateKeyPEM: text("private_key"),
		KID: text("kid"), Alg: text("alg"),
	}
	if params, ok := cfg["params"].(map[string]any); ok {
		g.Params = map[string]string{}
		for k, v := range params {
			if name, ok := SecretRef(v); ok {
				g.Params[k] = values[name]
			} else if s, ok := v.(string); ok {
				g.Params[k] = s
			}
		}
	}
	return g
}
