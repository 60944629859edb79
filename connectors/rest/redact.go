package rest

import (
	"fmt"

	"github.com/flowd/flowd/secrets"
)

// sensitive records a token the call sent, so that it is redacted from the
// outputs, the error and stored bodies as "[redacted:LABEL]". A token that was
// refreshed after a 401 gets a numbered label, so both are redacted. Tokens
// shorter than minTokenRedact are left alone: no real token is that short, and
// replacing a few letters everywhere would garble every output.
func (x *exchange) sensitive(label, token string) {
	if len(token) < minTokenRedact {
		return
	}
	if x.tokens == nil {
		x.tokens = map[string]string{}
	}
	for _, t := range x.tokens {
		if t == token {
			return
		}
	}
	name := label
	for i := 2; x.tokens[name] != ""; i++ {
		name = fmt.Sprintf("%s %d", label, i)
	}
	x.tokens[name] = token
}

const minTokenRedact = 8

// redactor returns the Redactor of the call's tokens; nil when it used none.
func (x *exchange) redactor() *secrets.Redactor {
	return secrets.NewRedactor(x.tokens)
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
