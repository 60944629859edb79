package rest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// knownInputs are the inputs Call accepts. connector_type and wait belong to the
// engine and are ignored here.
var knownInputs = []string{
	"allow_redirects", "api_key", "api_key_in", "api_key_name", "auth_headers", "auth_json",
	"auth_url", "authentication_method", "base_path", "cacert", "connect_timeout",
	"connector_type", "cookies", "data", "dst", "expected_status_code", "grant", "headers",
	"hostname", "idempotency_key", "json", "max_redirects", "method", "multipart", "paginate", "params",
	"password", "path", "port", "read_timeout", "retry_backoff", "retry_status_code", "scheme",
	"text", "token", "token_path", "total_timeout", "url", "urlencoded", "username",
	"verify_ssl", "wait",
}

// KnownInputs returns the names of the inputs Call accepts, sorted.
func KnownInputs() []string { return slices.Clone(knownInputs) }

var (
	defaultExpected = []int{200, 201, 202, 204}
	defaultRetry    = []int{502, 503, 504}
)

// spec is a call's inputs, checked and converted.
type spec struct {
	method       string
	url          *url.URL
	header       http.Header // request headers, including cookies
	body         *bodySpec   // nil: no body
	auth         authSpec
	expected     []int
	retry        []int
	backoff      backoff
	connect      time.Duration // 0: none
	read         time.Duration // 0: none
	total        time.Duration // 0: none
	redirects    bool
	maxRedirects int
	verifySSL    bool
	cacert       string
	dst          string
	paginate     *pageSpec
	idempotency  idempotency
}

// idempotency is the idempotency_key input.
type idempotency struct {
	off bool   // false: send no Idempotency-Key header
	key string // a key given as text; "": the engine's
}

// parse checks the inputs and returns the call they describe, or an *InputError.
func parse(raw map[string]any) (*spec, error) {
	in := inputs(raw)
	if err := checkUnknown(in); err != nil {
		return nil, err
	}
	s := &spec{header: http.Header{}}
	var err error
	if s.url, err = buildURL(in); err != nil {
		return nil, err
	}
	if s.body, err = parseBody(in); err != nil {
		return nil, err
	}
	if s.method, err = parseMethod(in, s.body); err != nil {
		return nil, err
	}
	if err = parseHeaders(in, s.header); err != nil {
		return nil, err
	}
	if s.auth, err = parseAuth(in); err != nil {
		return nil, err
	}
	if s.expected, err = in.ints("expected_status_code", defaultExpected); err != nil {
		return nil, err
	}
	if s.retry, err = in.ints("retry_status_code", defaultRetry); err != nil {
		return nil, err
	}
	if s.backoff, err = parseBackoff(in); err != nil {
		return nil, err
	}
	if s.connect, err = in.seconds("connect_timeout"); err != nil {
		return nil, err
	}
	if s.read, err = in.seconds("read_timeout"); err != nil {
		return nil, err
	}
	if s.total, err = in.seconds("total_timeout"); err != nil {
		return nil, err
	}
	if s.redirects, err = in.boolean("allow_redirects", true); err != nil {
		return nil, err
	}
	if s.maxRedirects, err = parseMaxRedirects(in); err != nil {
		return nil, err
	}
	if s.verifySSL, err = in.boolean("verify_ssl", true); err != nil {
		return nil, err
	}
	if s.cacert, err = in.str("cacert"); err != nil {
		return nil, err
	}
	if s.dst, err = in.str("dst"); err != nil {
		return nil, err
	}
	if s.paginate, err = parsePaginate(in); err != nil {
		return nil, err
	}
	if s.idempotency, err = parseIdempotency(in); err != nil {
		return nil, err
	}
	if s.paginate != nil && s.dst != "" {
		return nil, &InputError{Inputs: []string{"paginate", "dst"}, Message: "inputs paginate and dst cannot be used together: paginated items are returned in json.items; remove dst"}
	}
	return s, nil
}

func checkUnknown(in inputs) error {
	var unknown []string
	for k := range in {
		if !slices.Contains(knownInputs, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return &InputError{Inputs: unknown, Message: fmt.Sprintf(
		"unknown input %s; check the spelling, the REST connector accepts: %s",
		strings.Join(unknown, ", "), strings.Join(knownInputs, ", "))}
}

func parseMethod(in inputs, body *bodySpec) (string, error) {
	m, err := in.str("method")
	if err != nil {
		return "", err
	}
	m = strings.ToUpper(strings.TrimSpace(m))
	if m == "" {
		if body != nil {
			return http.MethodPost, nil
		}
		return http.MethodGet, nil
	}
	if strings.IndexFunc(m, func(r rune) bool { return r < '!' || r > '~' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) }) >= 0 {
		return "", inputErrorf("method", "input method %q is not an HTTP method; use GET, POST, PUT, PATCH, DELETE or another method name", m)
	}
	if body != nil && (body.input == "json" || body.input == "data") {
		switch m {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		default:
			return "", &InputError{Inputs: []string{body.input, "method"}, Message: fmt.Sprintf(
				"a %s body is only allowed with POST, PUT, PATCH or DELETE, not %s; change method or send the values as params", body.input, m)}
		}
	}
	return m, nil
}

func parseHeaders(in inputs, h http.Header) error {
	headers, err := in.stringMap("headers")
	if err != nil {
		return err
	}
	for k, v := range headers {
		if strings.ContainsAny(k, " :\r\n") || k == "" || strings.ContainsAny(v, "\r\n") {
			return inputErrorf("headers", "header %q cannot be sent: names have no spaces or colons and values no line breaks", k)
		}
		h.Set(k, v)
	}
	cookies, err := in.stringMap("cookies")
	if err != nil {
		return err
	}
	names := make([]string, 0, len(cookies))
	for k := range cookies {
		names = append(names, k)
	}
	slices.Sort(names)
	var parts []string
	for _, k := range names {
		c := &http.Cookie{Name: k, Value: cookies[k]}
		if err := c.Valid(); err != nil {
			return inputErrorf("cookies", "cookie %q cannot be sent (%v); use names without spaces or ;, and values without ; \" or spaces", k, err)
		}
		parts = append(parts, c.String())
	}
	if len(parts) > 0 {
		if old := h.Get("Cookie"); old != "" {
			parts = append([]string{old}, parts...)
		}
		h.Set("Cookie", strings.Join(parts, "; "))
	}
	return nil
}

func parseMaxRedirects(in inputs) (int, error) {
	f, ok, err := in.number("max_redirects")
	if err != nil {
		return 0, err
	}
	if !ok {
		return 10, nil
	}
	if f < 0 || f > 100 || f != float64(int(f)) {
		return 0, inputErrorf("max_redirects", "input max_redirects must be a whole number from 0 to 100, not %v", f)
	}
	return int(f), nil
}

// maxIdempotencyKey is the longest idempotency_key accepted: what common APIs
// accept (Stripe: 255 characters).
const maxIdempotencyKey = 255

// parseIdempotency reads idempotency_key: absent, null or true sends the key the
// engine gives the call, false sends none, a text is the key.
func parseIdempotency(in inputs) (idempotency, error) {
	switch v := in["idempotency_key"].(type) {
	case nil:
		return idempotency{}, nil
	case bool:
		return idempotency{off: !v}, nil
	case string:
		if v == "" || len(v) > maxIdempotencyKey || strings.IndexFunc(v, func(r rune) bool { return r < ' ' || r > '~' }) >= 0 {
			return idempotency{}, inputErrorf("idempotency_key", "input idempotency_key must be text of 1 to %d printable ASCII characters (letters, digits, punctuation, spaces), or false to send no Idempotency-Key header", maxIdempotencyKey)
		}
		return idempotency{key: v}, nil
	default:
		return idempotency{}, inputErrorf("idempotency_key", "input idempotency_key must be text (the key to send) or false (send no Idempotency-Key header), not %s", kind(v))
	}
}

// idempotentMethods are the methods that get an Idempotency-Key header: the
// others are safe to repeat by definition.
var idempotentMethods = []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// idempotencyKey returns the Idempotency-Key of the call s describes, with
// engine the key the engine gives (CallOptions.IdempotencyKey); "" when none is
// to be sent. A header given in headers wins, whatever its case.
func (s *spec) idempotencyKey(engine string) string {
	if s.idempotency.off || !slices.Contains(idempotentMethods, s.method) || len(s.header.Values(idempotencyHeader)) > 0 {
		return ""
	}
	switch {
	case s.idempotency.key != "":
		return s.idempotency.key
	case engine != "":
		return engine
	}
	return uuid.NewString()
}

// idempotencyHeader is the header of the IETF draft "The Idempotency-Key HTTP
// Header Field", which Stripe, PayPal, Adyen and others honour.
const idempotencyHeader = "Idempotency-Key"
