package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// customAuth is Peak's Custom Auth: POST auth_json with auth_headers to auth_url,
// read the token at token_path of the JSON answer and send it as a bearer token.
type customAuth struct {
	url       string
	headers   map[string]string
	body      []byte // JSON; nil: no body
	tokenPath string
}

func parseCustomAuth(in inputs) (customAuth, error) {
	var c customAuth
	raw, err := in.str("auth_url")
	if err != nil {
		return c, err
	}
	if raw == "" {
		return c, inputErrorf("auth_url", "authentication_method custom needs auth_url, the address that hands out tokens")
	}
	u, err := parseURL(raw)
	if err != nil {
		return c, inputErrorf("auth_url", "input auth_url %q must be an http:// or https:// URL", raw)
	}
	c.url = u.String()
	if c.headers, err = in.stringMap("auth_headers"); err != nil {
		return c, err
	}
	if in.has("auth_json") {
		if c.body, err = json.Marshal(in["auth_json"]); err != nil {
			return c, inputErrorf("auth_json", "input auth_json cannot be encoded as JSON: %v", err)
		}
	}
	if c.tokenPath, err = in.str("token_path"); err != nil {
		return c, err
	}
	if c.tokenPath == "" {
		c.tokenPath = "access_token"
	}
	return c, nil
}

// fetch asks the auth URL for a token through client and returns it. On failure it
// returns a *StatusError or an error saying what to check, with excerpts of the
// answer passed through redact.
func (c customAuth) fetch(ctx context.Context, client *http.Client, maxBody int64, redact func([]byte) []byte) (string, error) {
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, body)
	if err != nil {
		return "", fmt.Errorf("custom auth: cannot make a request to auth_url %s: %w", c.url, err)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	var coe *crossOriginError
	if errors.As(err, &coe) {
		c := *coe
		c.input = "auth_url"
		return "", fmt.Errorf("custom auth: %w", &c)
	}
	if err != nil {
		return "", fmt.Errorf("custom auth: auth_url %s could not be reached; check the address: %w", c.url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return "", fmt.Errorf("custom auth: reading the answer of auth_url %s failed: %w", c.url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", &StatusError{Method: "POST", URL: c.url, StatusCode: resp.StatusCode, Status: resp.Status,
			Expected: []int{200, 201, 202, 204}, Excerpt: excerpt(redact(data))}
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return "", fmt.Errorf("custom auth: auth_url %s did not answer with JSON (%s); check auth_url", c.url, excerpt(redact(data)))
	}
	tok, ok := lookup(doc, c.tokenPath)
	s, isString := tok.(string)
	if !ok || !isString || s == "" {
		keys := ""
		if m, ok := doc.(map[string]any); ok {
			names := make([]string, 0, len(m))
			for k := range m {
				names = append(names, k)
			}
			keys = " (its top-level keys: " + strings.Join(sortedCopy(names), ", ") + ")"
		}
		return "", &InputError{Inputs: []string{"token_path"}, Message: fmt.Sprintf(
			"custom auth: the answer of auth_url has no token text at %q%s; set token_path to the dotted path of the token, like data.access_token", c.tokenPath, keys)}
	}
	return s, nil
}
