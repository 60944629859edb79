package rest

import (
	"net/http"
	"slices"
	"strings"
)

// Authentication methods.
const (
	authNone   = "none"
	authBasic  = "basic"
	authBearer = "bearer"
	authAPIKey = "api_key"
	authOAuth2 = "oauth2"
	authCustom = "custom"
)

// authInputs lists the inputs each authentication method reads. Setting one of
// them with another method is an input error, and when authentication_method is
// not set the method whose inputs are given is used.
var authInputs = []struct {
	method string
	inputs []string
}{
	{authBasic, []string{"username", "password"}},
	{authBearer, []string{"token"}},
	{authAPIKey, []string{"api_key", "api_key_name", "api_key_in"}},
	{authOAuth2, []string{"grant"}},
	{authCustom, []string{"auth_url", "auth_headers", "auth_json", "token_path"}},
}

type authSpec struct {
	method     string
	username   string
	password   string
	token      string
	apiKey     string
	apiKeyName string
	apiKeyIn   string // "header" or "query"
	grant      string
	custom     customAuth
}

func parseAuth(in inputs) (authSpec, error) {
	var a authSpec
	method, err := in.str("authentication_method")
	if err != nil {
		return a, err
	}
	method = strings.ToLower(strings.TrimSpace(method))
	var given []string // methods whose inputs are set
	for _, m := range authInputs {
		for _, name := range m.inputs {
			if in.has(name) && !slices.Contains(given, m.method) {
				given = append(given, m.method)
			}
		}
	}
	if method == "" {
		switch len(given) {
		case 0:
			method = authNone
		case 1:
			method = given[0]
		default:
			return a, inputErrorf("authentication_method", "inputs for authentication methods %s are all set; set authentication_method to the one you want and remove the others' inputs", strings.Join(given, " and "))
		}
	}
	for _, m := range authInputs {
		if m.method == method {
			continue
		}
		for _, name := range m.inputs {
			if in.has(name) {
				return a, inputErrorf(name, "input %s is only used with authentication_method %s, but it is %s; remove %s or change authentication_method", name, m.method, method, name)
			}
		}
	}
	a.method = method
	switch method {
	case authNone:
	case authBasic:
		if a.username, err = in.str("username"); err != nil {
			return a, err
		}
		if a.password, err = in.str("password"); err != nil {
			return a, err
		}
		if a.username == "" {
			return a, inputErrorf("username", "authentication_method basic needs a username (and password)")
		}
	case authBearer:
		if a.token, err = in.str("token"); err != nil {
			return a, err
		}
		if a.token == "" {
			return a, inputErrorf("token", "authentication_method bearer needs a token")
		}
	case authAPIKey:
		return parseAPIKey(in, a)
	case authOAuth2:
		if a.grant, err = in.str("grant"); err != nil {
			return a, err
		}
		if a.grant == "" {
			return a, inputErrorf("grant", "authentication_method oauth2 needs grant, the name of a saved OAuth2 grant")
		}
	case authCustom:
		a.custom, err = parseCustomAuth(in)
	default:
		return a, inputErrorf("authentication_method", "authentication_method %q is unknown; use none, basic, bearer, api_key, oauth2 or custom", method)
	}
	return a, err
}

func parseAPIKey(in inputs, a authSpec) (authSpec, error) {
	var err error
	if a.apiKey, err = in.str("api_key"); err != nil {
		return a, err
	}
	if a.apiKey == "" {
		return a, inputErrorf("api_key", "authentication_method api_key needs api_key, the key itself")
	}
	if a.apiKeyIn, err = in.str("api_key_in"); err != nil {
		return a, err
	}
	switch a.apiKeyIn = strings.ToLower(a.apiKeyIn); a.apiKeyIn {
	case "":
		a.apiKeyIn = "header"
	case "header", "query":
	default:
		return a, inputErrorf("api_key_in", "input api_key_in must be header or query, not %q", a.apiKeyIn)
	}
	if a.apiKeyName, err = in.str("api_key_name"); err != nil {
		return a, err
	}
	if a.apiKeyName == "" {
		a.apiKeyName = map[string]string{"header": "X-API-Key", "query": "api_key"}[a.apiKeyIn]
	}
	if a.apiKeyIn == "header" && strings.ContainsAny(a.apiKeyName, " :\r\n") {
		return a, inputErrorf("api_key_name", "input api_key_name %q is not a header name; use a name like X-API-Key", a.apiKeyName)
	}
	return a, nil
}

// apply sets the credentials on req. bearer is the token for oauth2 and custom.
func (a *authSpec) apply(req *http.Request, bearer string) {
	switch a.method {
	case authBasic:
		req.SetBasicAuth(a.username, a.password)
	case authBearer:
		req.Header.Set("Authorization", "Bearer "+a.token)
	case authOAuth2, authCustom:
		req.Header.Set("Authorization", "Bearer "+bearer)
	case authAPIKey:
		if a.apiKeyIn == "header" {
			req.Header.Set(a.apiKeyName, a.apiKey)
			return
		}
		q := req.URL.Query()
		q.Set(a.apiKeyName, a.apiKey)
		req.URL.RawQuery = q.Encode()
	}
}

// secretParams are query parameters to redact in logs and errors.
func (a *authSpec) secretParams() []string {
	if a.method == authAPIKey && a.apiKeyIn == "query" {
		return []string{a.apiKeyName}
	}
	return nil
}
