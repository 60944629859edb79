// Package oauth obtains OAuth2 access tokens for flowd's connectors: the client
// credentials grant (RFC 6749 §4.4) with a client secret or with a signed JWT client
// assertion (RFC 7523 private_key_jwt), and a Cache that shares tokens between calls.
//
// Requests go through golang.org/x/oauth2/clientcredentials. Its Config.Token does
// not cache and a TokenSource keeps the context it was made with, so flowd never
// holds a TokenSource: Cache decides when to fetch and gives every fetch its own
// bounded context.
package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Grant types.
const (
	// TypeClientCredentials authenticates with a client id and secret.
	TypeClientCredentials = "client_credentials"
	// TypeJWTAssertion authenticates with a JWT signed by the client's private key
	// (RFC 7523 private_key_jwt), as NetSuite requires.
	TypeJWTAssertion = "jwt_assertion"
)

// Auth styles: where a client_credentials grant sends its client id and secret.
const (
	// AuthStyleHeader sends them as HTTP Basic authentication (RFC 6749 §2.3.1).
	AuthStyleHeader = "header"
	// AuthStyleBody sends them as client_id and client_secret form fields.
	AuthStyleBody = "body"
)

// Grant is a saved OAuth2 grant with its secrets already resolved.
type Grant struct {
	Type         string            // TypeClientCredentials or TypeJWTAssertion
	TokenURL     string            // the token endpoint, http or https
	ClientID     string            // the client id; iss and sub of a JWT assertion
	ClientSecret string            // client_credentials only
	Scope        string            // space-separated scopes; sent as "scope" when set
	Audience     string            // sent as "audience" when set (Auth0 and others)
	Params       map[string]string // extra form fields for the token request
	// AuthStyle is AuthStyleHeader or AuthStyleBody. It is never auto-detected
	// (auto-detection sends the secret twice to a server that refuses the first
	// try); empty means AuthStyleHeader, which RFC 6749 requires servers to support.
	// A JWT assertion is always sent in the body.
	AuthStyle     string
	PrivateKeyPEM string // jwt_assertion: PKCS#1, PKCS#8 or SEC 1 PEM private key
	KID           string // jwt_assertion: the key id put in the JWT header ("certificate id")
	Alg           string // jwt_assertion: "ES256" or "RS256"; empty means the key's natural one
}

// Validate reports what is missing or wrong in g, as an error that says which
// field to fix; it returns nil when g can be used.
func (g Grant) Validate() error {
	var problems []string
	switch g.Type {
	case TypeClientCredentials:
		if g.ClientSecret == "" {
			problems = append(problems, "set the client secret")
		}
		switch g.AuthStyle {
		case "", AuthStyleHeader, AuthStyleBody:
		default:
			problems = append(problems, fmt.Sprintf("auth style %q is unknown; use %q or %q", g.AuthStyle, AuthStyleHeader, AuthStyleBody))
		}
	case TypeJWTAssertion:
		if strings.TrimSpace(g.PrivateKeyPEM) == "" {
			problems = append(problems, "set the private key (PEM)")
		}
		switch g.Alg {
		case "", "ES256", "RS256":
		default:
			problems = append(problems, fmt.Sprintf("algorithm %q is not supported; use ES256 or RS256", g.Alg))
		}
	case "":
		problems = append(problems, fmt.Sprintf("set the type to %q or %q", TypeClientCredentials, TypeJWTAssertion))
	default:
		problems = append(problems, fmt.Sprintf("type %q is unknown; use %q or %q", g.Type, TypeClientCredentials, TypeJWTAssertion))
	}
	if u, err := url.Parse(g.TokenURL); g.TokenURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, "set the token URL to an http:// or https:// address")
	}
	if g.ClientID == "" {
		problems = append(problems, "set the client id")
	}
	if len(problems) > 0 {
		return fmt.Errorf("the OAuth2 grant is incomplete: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Fetch requests a new access token from the grant's token endpoint with client
// (nil: http.DefaultClient), bounded only by ctx. On failure it returns an error
// that names the token endpoint and says what to check; the grant's secrets are
// never part of it.
func (g Grant) Fetch(ctx context.Context, client *http.Client) (*oauth2.Token, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	cfg := clientcredentials.Config{
		ClientID:       g.ClientID,
		TokenURL:       g.TokenURL,
		Scopes:         strings.Fields(g.Scope),
		EndpointParams: url.Values{},
		AuthStyle:      oauth2.AuthStyleInHeader,
	}
	for k, v := range g.Params {
		cfg.EndpointParams.Set(k, v)
	}
	if g.Audience != "" {
		cfg.EndpointParams.Set("audience", g.Audience)
	}
	switch g.Type {
	case TypeClientCredentials:
		cfg.ClientSecret = g.ClientSecret
		if g.AuthStyle == AuthStyleBody {
			cfg.AuthStyle = oauth2.AuthStyleInParams
		}
	case TypeJWTAssertion:
		assertion, err := g.assertion()
		if err != nil {
			return nil, err
		}
		cfg.AuthStyle = oauth2.AuthStyleInParams // no secret: only client_id goes in the body
		cfg.EndpointParams.Set("client_assertion_type", AssertionType)
		cfg.EndpointParams.Set("client_assertion", assertion)
	}
	if client != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	}
	tok, err := cfg.Token(ctx)
	if err != nil {
		return nil, g.explain(ctx, err)
	}
	return tok, nil
}

// explain turns an oauth2 error into one that says what to do.
func (g Grant) explain(ctx context.Context, err error) error {
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re):
		detail := re.ErrorCode
		if re.ErrorDescription != "" {
			detail += ": " + re.ErrorDescription
		}
		if detail == "" {
			detail = strings.TrimSpace(string(re.Body))
			if len(detail) > 200 {
				detail = detail[:200] + "…"
			}
		}
		status := ""
		if re.Response != nil {
			status = re.Response.Status
		}
		return fmt.Errorf("the token endpoint %s refused the token request (%s %s); check the grant's client id, secret or key, scope and audience: %w",
			g.TokenURL, status, detail, err)
	case ctx.Err() != nil:
		return fmt.Errorf("the token endpoint %s did not answer in time; check that the token URL is right and the server is up: %w", g.TokenURL, ctx.Err())
	default:
		return fmt.Errorf("could not get a token from %s; check that the token URL is right and reachable: %w", g.TokenURL, err)
	}
}

// fingerprint identifies the grant's configuration, so a cached token is dropped
// when the saved grant changes (for example when its secret is rotated).
func (g Grant) fingerprint() string {
	h := sha256.New()
	keys := make([]string, 0, len(g.Params))
	for k := range g.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fields := []string{g.Type, g.TokenURL, g.ClientID, g.ClientSecret, g.Scope, g.Audience, g.AuthStyle, g.PrivateKeyPEM, g.KID, g.Alg}
	for _, k := range keys {
		fields = append(fields, k, g.Params[k])
	}
	for _, f := range fields {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}
