package rest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/flowd/flowd/connectors/oauth"
)

// FileStore reads and writes flowd's stored files (used by dst and multipart file parts).
type FileStore interface {
	ReadFile(ctx context.Context, name string) ([]byte, error)
	WriteFile(ctx context.Context, name string, data []byte) error
}

// GrantResolver returns a saved OAuth2 grant's config by name, with secrets already
// resolved, or an error when there is no such grant.
type GrantResolver func(ctx context.Context, name string) (oauth.Grant, error)

// DefaultMaxBodyBytes is the response body limit of a Connector whose
// MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 10 << 20

// Connector runs REST connector calls. Its fields are set once by the engine; a
// Connector is safe for concurrent calls.
type Connector struct {
	Files          FileStore         // nil: dst and multipart file parts give an input error
	Grants         GrantResolver     // nil: authentication_method oauth2 gives an input error
	Tokens         *oauth.Cache      // tokens shared across calls, per grant name; nil: no caching
	MaxBodyBytes   int64             // response body limit; 0: DefaultMaxBodyBytes
	AllowedDomains []string          // non-empty: every request and redirect hop must go to one of these hosts ("api.example.com" or "*.example.com")
	HTTPTransport  http.RoundTripper // base transport (e.g. with an SSRF-safe dialer); nil: http.DefaultTransport. Cloned per call when it is an *http.Transport.

	delayUnit time.Duration // what one second of retry_backoff lasts; 0: a second (tests shorten it)
	within    []string      // the domains of CallWithin, checked on top of AllowedDomains
}

// Call runs one REST connector call with inputs as decoded from JSON, with the
// CallOptions of ctx (see WithCallOptions).
//
// It always returns the outputs: status ("success" or "error"), message and log,
// and, once a response arrived, status_code, headers, cookies, encoding and the
// body as json, text or bytes (see decodeBody), unless it went to a stored file:
// then body_file names the file and size is the body's length in bytes. It
// returns an error when the call failed: an *InputError for inputs that cannot
// work (do not retry), a *StatusError when the final status is not in
// expected_status_code (the outputs hold the response), an error wrapping
// ErrBodyTooLarge for a body over MaxBodyBytes, and other errors when no response
// came after the retries. The access tokens the call obtained (oauth2, custom)
// are redacted from the outputs and the error as secrets are by the engine.
func (c *Connector) Call(ctx context.Context, inputs map[string]any) (map[string]any, error) {
	out := map[string]any{}
	x := &exchange{c: c, opts: c.callOptions(ctx)}
	msg, err := c.call(ctx, inputs, out, x)
	if x.log == nil {
		x.log = []any{}
	}
	out["log"] = x.log
	if err != nil {
		out["status"], out["message"] = "error", err.Error()
	} else {
		out["status"], out["message"] = "success", msg
	}
	if red := x.redactor(); red != nil {
		out = red.Map(out)
		if err != nil {
			err = redactedError(red, err)
		}
	}
	return out, err
}

func (c *Connector) call(ctx context.Context, inputs map[string]any, out map[string]any, x *exchange) (string, error) {
	s, err := parse(inputs)
	if err != nil {
		return "", err
	}
	x.s = s
	x.idempotencyKey = s.idempotencyKey(x.opts.IdempotencyKey)
	files := x.opts.Files
	if s.body != nil && s.body.input == "data" {
		x.log = append(x.log, map[string]any{"message": "input data is deprecated; it is sent as a JSON body, use json instead"})
	}
	if s.dst != "" && files == nil {
		return "", inputErrorf("dst", "input dst cannot be used here: stored files are not available; remove dst to get the body in the outputs")
	}
	if s.body != nil {
		if x.body, x.bodyType, err = s.body.build(ctx, files); err != nil {
			return "", err
		}
	}
	if s.auth.method == authOAuth2 {
		if x.grant, err = c.grant(ctx, s.auth.grant); err != nil {
			return "", err
		}
	}
	rt, closeIdle, err := c.newTransport(s)
	if err != nil {
		return "", err
	}
	defer closeIdle()
	x.tokenClient = &http.Client{Transport: rt, CheckRedirect: checkTokenRedirect}
	x.client = &http.Client{Transport: c.guard(rt), CheckRedirect: checkRedirect(s)}

	if s.paginate != nil {
		return x.paginate(ctx, out)
	}
	res, err := x.do(ctx, s.url)
	if err != nil {
		return "", err
	}
	ok := slices.Contains(s.expected, res.statusCode)
	shown := redactURL(s.url, s.auth.secretParams()...)
	answered := fmt.Sprintf("%s %s answered %s", s.method, shown, res.status)
	switch file := x.opts.LargeBodyFile; {
	case s.dst != "" && ok:
		if err := x.store(ctx, out, res, s.dst); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s; body stored in file %q (%d bytes)", answered, s.dst, len(res.body)), nil
	case file != "" && res.tooLargeInline(x.opts.InlineBodyBytes):
		// Too large for the outputs, which travel through the workflow history:
		// store it and pass the file's name instead (even for an unexpected status,
		// whose body explains the error).
		if err := x.store(ctx, out, res, file); err != nil {
			return "", err
		}
		note := fmt.Sprintf("the response body (%d bytes) is larger than %d bytes, so it is not in the outputs but in the stored file %q (output body_file); read it with system.file(%q) or send it on as a multipart file part",
			len(res.body), x.opts.InlineBodyBytes, file, file)
		x.log = append(x.log, map[string]any{"message": note, "body_file": file, "size": len(res.body)})
		if !ok {
			return "", fmt.Errorf("%w; %s", x.statusError(res), note)
		}
		return answered + "; " + note, nil
	}
	res.fillOutputs(out, s.dst == "" || !ok)
	if !ok {
		return "", x.statusError(res)
	}
	return answered, nil
}

// store writes the body of res into the stored file name and sets the outputs
// without the body: body_file and size instead. The body is stored with the
// call's secrets and access tokens redacted, binary bodies too: whoever may read
// the execution may read the file.
func (x *exchange) store(ctx context.Context, out map[string]any, res *response, name string) error {
	res.fillOutputs(out, false)
	body := x.redactBody(res.body)
	if err := x.opts.Files.WriteFile(ctx, name, body); err != nil {
		return fmt.Errorf("could not store the response body of %s in file %q: %w; check the file name",
			redactURL(x.s.url, x.s.auth.secretParams()...), name, err)
	}
	out["body_file"], out["size"] = name, len(res.body)
	return nil
}

func (x *exchange) statusError(res *response) *StatusError {
	return &StatusError{Method: x.s.method, URL: redactURL(x.s.url, x.s.auth.secretParams()...), StatusCode: res.statusCode,
		Status: res.status, Expected: x.s.expected, Excerpt: excerpt(x.redactBody(res.body)), Tries: res.tries}
}

// grant resolves and checks the saved grant name.
func (c *Connector) grant(ctx context.Context, name string) (oauth.Grant, error) {
	if c.Grants == nil {
		return oauth.Grant{}, inputErrorf("grant", "authentication_method oauth2 is not available here: this flowd server has no saved OAuth2 grants; use another authentication_method")
	}
	g, err := c.Grants(ctx, name)
	if err != nil {
		return g, &InputError{Inputs: []string{"grant"}, Message: fmt.Sprintf("OAuth2 grant %q cannot be loaded (%v); check the grant name", name, err)}
	}
	if err := g.Validate(); err != nil {
		return g, &InputError{Inputs: []string{"grant"}, Message: fmt.Sprintf("OAuth2 grant %q: %v; fix the saved grant", name, err)}
	}
	return g, nil
}

func (c *Connector) maxBody() int64 {
	if c.MaxBodyBytes <= 0 {
		return DefaultMaxBodyBytes
	}
	return c.MaxBodyBytes
}

func (c *Connector) unit() time.Duration {
	if c.delayUnit <= 0 {
		return time.Second
	}
	return c.delayUnit
}
