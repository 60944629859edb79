package rest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/flowd/flowd/connectors/oauth"
)

// exchange runs the HTTP requests of one call: tries, retries, auth and logging.
type exchange struct {
	c           *Connector
	s           *spec
	client      *http.Client // to the API: allowed domains and redirect policy
	tokenClient *http.Client // to a grant's token endpoint, saved by an administrator
	body        []byte
	bodyType    string
	grant       oauth.Grant
	bearer      string // the oauth2 or custom token in use
	refreshed   bool   // an oauth2 token was already refreshed after a 401
	log         []any
	opts        CallOptions
	tokens      []string // every token the call used, redacted from what it returns
	// idempotencyKey is the Idempotency-Key header of every try; "": none.
	idempotencyKey string
}

// do sends the request to u, retrying connection errors, timeouts and
// retry_status_code answers with backoff until retry_backoff.deadline. It returns
// the last response (whatever its status), or an error when no response came.
func (x *exchange) do(ctx context.Context, u *url.URL) (*response, error) {
	start := time.Now()
	shown := redactURL(u, x.s.auth.secretParams()...)
	// elapsed counts toward retry_backoff.deadline: the tries' own time in real
	// seconds plus the waits between them in backoff seconds (the same in production;
	// tests shorten only the waits, so that request time does not count a thousandfold).
	elapsed := 0.0
	for try := 1; ; try++ {
		t0 := time.Now()
		res, err := x.once(ctx, u)
		elapsed += time.Since(t0).Seconds()
		entry := map[string]any{"try": try, "method": x.s.method, "url": shown, "duration_ms": int(time.Since(t0).Milliseconds())}
		if err != nil {
			entry["error"] = err.Error()
			if !retryable(ctx, err) {
				entry["message"] = fmt.Sprintf("try %d: %s %s failed: %v", try, x.s.method, shown, err)
				x.logTry(entry, false)
				return nil, x.explain(ctx, err, try, start)
			}
		} else {
			entry["status_code"] = res.statusCode
			if !slices.Contains(x.s.retry, res.statusCode) {
				entry["message"] = fmt.Sprintf("try %d: %s %s answered %s", try, x.s.method, shown, res.status)
				x.logTry(entry, false)
				return res, nil
			}
		}
		what := fmt.Sprintf("answered %d", entryStatus(res))
		if err != nil {
			what = "failed: " + err.Error()
		}
		ra := 0.0
		if res != nil {
			ra = retryAfter(res.header, time.Now())
		}
		delay := x.s.backoff.delay(try-1, ra)
		if elapsed+delay > x.s.backoff.deadline {
			entry["message"] = fmt.Sprintf("try %d: %s %s %s; not retrying: the next try would pass retry_backoff.deadline (%s)", try, x.s.method, shown, what, fmtSeconds(x.s.backoff.deadline))
			x.logTry(entry, false)
			if err != nil {
				return nil, x.explain(ctx, err, try, start)
			}
			res.tries = try
			return res, nil
		}
		entry["retry_in_seconds"] = delay
		entry["message"] = fmt.Sprintf("try %d: %s %s %s; retrying in %s", try, x.s.method, shown, what, fmtSeconds(delay))
		x.logTry(entry, true)
		if err := wait(ctx, time.Duration(delay*float64(x.c.unit()))); err != nil {
			return nil, fmt.Errorf("the call was cancelled while waiting to retry %s %s: %w", x.s.method, shown, err)
		}
		elapsed += delay
	}
}

// logTry adds the entry of a finished try to the log and reports the log so far
// to CallOptions.OnTry, with the call's tokens redacted as Call redacts the
// outputs. retrying tells that another try follows.
func (x *exchange) logTry(entry map[string]any, retrying bool) {
	x.log = append(x.log, entry)
	if x.opts.OnTry == nil {
		return
	}
	log := slices.Clone(x.log)
	if red := x.redactor(); red != nil {
		log = red.Value(log).([]any)
	}
	x.opts.OnTry(log, retrying)
}

func entryStatus(r *response) int {
	if r == nil {
		return 0
	}
	return r.statusCode
}

// once makes one try: one request (and one more after refreshing an oauth2 token
// that got a 401), with total_timeout and read_timeout applied.
func (x *exchange) once(ctx context.Context, u *url.URL) (*response, error) {
	if x.s.total > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, x.s.total, errTotalTimeout)
		defer cancel()
	}
	for {
		res, err := x.send(ctx, u)
		if err != nil {
			if cause := context.Cause(ctx); errors.Is(cause, errTotalTimeout) {
				return nil, fmt.Errorf("%w: no complete answer within %s", errTotalTimeout, x.s.total)
			}
			return nil, err
		}
		if res.statusCode == http.StatusUnauthorized && x.s.auth.method == authOAuth2 && !x.refreshed {
			x.refreshed = true
			x.c.Tokens.Invalidate(x.s.auth.grant, x.bearer)
			x.log = append(x.log, map[string]any{"message": fmt.Sprintf("the API answered 401 Unauthorized; getting a new token for grant %q and trying once more", x.s.auth.grant)})
			continue
		}
		return res, nil
	}
}

// send sends one request and reads the response body, limited to MaxBodyBytes.
func (x *exchange) send(ctx context.Context, u *url.URL) (*response, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := x.newRequest(ctx, u)
	if err != nil {
		return nil, err
	}
	var idle *time.Timer
	if x.s.read > 0 {
		idle = time.AfterFunc(x.s.read, func() { cancel(errReadTimeout) })
		defer idle.Stop()
	}
	resp, err := x.client.Do(req)
	if err != nil {
		// The error quotes the URL of the request that failed (a redirect's, maybe):
		// without the API key in its query, as the log's url shows it.
		if ue, ok := err.(*url.Error); ok {
			if u, perr := url.Parse(ue.URL); perr == nil {
				ue.URL = redactURL(u, x.s.auth.secretParams()...)
			}
		}
		return nil, x.timeoutCause(ctx, err)
	}
	defer resp.Body.Close()
	limit := x.c.maxBody()
	if resp.ContentLength > limit {
		return nil, x.tooLarge(u, limit)
	}
	var body io.Reader = resp.Body
	if idle != nil {
		idle.Reset(x.s.read)
		body = &idleReader{r: resp.Body, timer: idle, d: x.s.read}
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the response body failed: %w", x.timeoutCause(ctx, err))
	}
	if int64(len(data)) > limit {
		return nil, x.tooLarge(u, limit)
	}
	return &response{statusCode: resp.StatusCode, status: resp.Status, header: resp.Header, cookies: resp.Cookies(), body: data}, nil
}

func (x *exchange) tooLarge(u *url.URL, limit int64) error {
	return fmt.Errorf("%w: the response of %s is larger than %d bytes; ask the API for less (filters, page size, paginate) or ask an administrator to raise the limit",
		ErrBodyTooLarge, redactURL(u, x.s.auth.secretParams()...), limit)
}

// timeoutCause names read_timeout when it ended the request.
func (x *exchange) timeoutCause(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errReadTimeout) {
		return fmt.Errorf("%w: no data for %s", errReadTimeout, x.s.read)
	}
	return err
}

// idleReader restarts the read_timeout timer whenever data arrives.
type idleReader struct {
	r     io.Reader
	timer *time.Timer
	d     time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.d)
	}
	return n, err
}

// newRequest builds the request with headers, body and credentials.
func (x *exchange) newRequest(ctx context.Context, u *url.URL) (*http.Request, error) {
	var body io.Reader
	if x.body != nil {
		body = bytes.NewReader(x.body)
	}
	req, err := http.NewRequestWithContext(ctx, x.s.method, u.String(), body)
	if err != nil {
		return nil, inputErrorf("url", "cannot make a request to %s: %v; check the url and method", redactURL(u), err)
	}
	req.Header = x.s.header.Clone()
	if x.bodyType != "" && (x.s.body.multipart != nil || req.Header.Get("Content-Type") == "") {
		req.Header.Set("Content-Type", x.bodyType)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "flowd-rest/1")
	}
	if x.idempotencyKey != "" {
		req.Header.Set(idempotencyHeader, x.idempotencyKey)
	}
	switch x.s.auth.method {
	case authOAuth2:
		tok, err := x.c.Tokens.Token(ctx, x.s.auth.grant, x.grant, x.tokenClient)
		if err != nil {
			return nil, &authError{err}
		}
		x.bearer = tok.AccessToken
		x.sensitive(x.bearer)
	case authCustom:
		if x.bearer == "" {
			if x.bearer, err = x.s.auth.custom.fetch(ctx, x.client, x.c.maxBody(), x.redactBody); err != nil {
				return nil, &authError{err}
			}
			x.sensitive(x.bearer)
		}
	}
	x.s.auth.apply(req, x.bearer)
	return req, nil
}

// authError is a failure to get a token; it is not retried here (the token
// endpoint has its own timeout) and says what to check.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// retryable reports whether a try that failed with err should be tried again:
// connection errors and timeouts are, while cancellation, input and policy
// errors, certificate errors and failed authentication are not.
func retryable(ctx context.Context, err error) bool {
	var (
		ie   *InputError
		de   *domainError
		re   *redirectError
		coe  *crossOriginError
		ae   *authError
		cve  *tls.CertificateVerificationError
		uae  x509.UnknownAuthorityError
		he   x509.HostnameError
		cie  x509.CertificateInvalidError
		rhe  tls.RecordHeaderError
		errs = []any{&ie, &de, &re, &coe, &ae, &cve, &uae, &he, &cie, &rhe}
	)
	if ctx.Err() != nil || errors.Is(err, ErrBodyTooLarge) {
		return false
	}
	for _, target := range errs {
		if errors.As(err, target) {
			return false
		}
	}
	return true
}

// explain returns the error of a call whose last try failed with err, saying what
// to do; policy errors become *InputError.
func (x *exchange) explain(ctx context.Context, err error, tries int, start time.Time) error {
	shown := redactURL(x.s.url, x.s.auth.secretParams()...)
	var (
		ie  *InputError
		de  *domainError
		re  *redirectError
		coe *crossOriginError
		ae  *authError
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
	)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("the call %s %s was cancelled: %w", x.s.method, shown, ctx.Err())
	case errors.As(err, &ie):
		return ie
	case errors.As(err, &de):
		return &InputError{Inputs: []string{"url"}, Message: de.Error()}
	case errors.As(err, &re):
		return &InputError{Inputs: []string{"max_redirects"}, Message: fmt.Sprintf("%s %s: %s", x.s.method, shown, re.Error())}
	case errors.As(err, &ae):
		return ae.err
	case errors.As(err, &coe):
		return &InputError{Inputs: []string{"url", "allow_redirects"}, Message: coe.Error()}
	case errors.Is(err, ErrBodyTooLarge):
		return err
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &he):
		return fmt.Errorf("%s %s: the server's TLS certificate is not trusted (%w); set cacert to the PEM certificate of the server's CA, or verify_ssl false if you accept the risk", x.s.method, shown, err)
	}
	tried := "once"
	if tries > 1 {
		tried = fmt.Sprintf("%d times over %s", tries, time.Since(start).Round(time.Millisecond))
	}
	return fmt.Errorf("%s %s failed (tried %s): %w; check that the host is reachable, or raise connect_timeout, read_timeout, total_timeout or retry_backoff.deadline", x.s.method, shown, tried, err)
}

// wait sleeps for d or until ctx ends, returning ctx's error then.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
