package rest

import (
	"slices"
	"strconv"

	"github.com/flowd/flowd/secrets"
)

// sensitive records a token the call sent, so that it is redacted from the
// outputs, the error and stored files as secrets.Marker, as the engine redacts
// secrets. A token that was refreshed after a 401 is added too, so both are
// redacted. Tokens shorter than minTokenRedact are left alone: no real token is
// that short, and replacing a few letters everywhere would garble every output.
func (x *exchange) sensitive(token string) {
	if len(token) >= minTokenRedact && !slices.Contains(x.tokens, token) {
		x.tokens = append(x.tokens, token)
	}
}

const minTokenRedact = 8

// redactor returns the Redactor of the call's tokens; nil when it used none.
func (x *exchange) redactor() *secrets.Redactor {
	values := make(map[string]string, len(x.tokens))
	for i, t := range x.tokens {
		values[strconv.Itoa(i)] = t
	}
	return secrets.NewRedactor(values)
}

// redactBody returns body with the call's secrets (CallOptions.Redactor) and
// tokens replaced, for stored files and the excerpts of error messages.
func (x *exchange) redactBody(body []byte) []byte {
	return x.redactor().Bytes(x.opts.Redactor.Bytes(body))
}

// redactedErr is an error whose message had tokens redacted; errors.As and
// errors.Is still see the original.
type redactedErr struct {
	msg string
	err error
}

func (e *redactedErr) Error() string { return e.msg }
func (e *redactedErr) Unwrap() error { return e.err }

func redactedError(red *secrets.Redactor, err error) error {
	msg := red.String(err.Error())
	if msg == err.Error() {
		return err
	}
	return &redactedErr{msg: msg, err: err}
}
