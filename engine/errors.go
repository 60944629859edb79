package engine

import (
	"errors"
	"fmt"
)

// Error codes. The API maps each to one HTTP status in one table (api/errors.go).
const (
	EInvalid       = "invalid"        // bad input: 400
	EUnauthorized  = "unauthorized"   // no or bad credentials: 401
	EForbidden     = "forbidden"      // role does not allow it: 403
	ENotFound      = "not_found"      // 404
	EConflict      = "conflict"       // 409
	EInvalidScript = "invalid_script" // a script that does not parse: 422
	EUnprocessable = "unprocessable"  // well-formed but unusable input: 422
	EInvalidInputs = "invalid_inputs" // inputs that do not fit the flow's inputs_schema: 422
	ERateLimited   = "rate_limited"   // 429
	EUnavailable   = "unavailable"    // the engine (Temporal, database) cannot be reached: 503
	EInternal      = "internal"       // a bug: 500, details logged and never shown
)

// Error is an error meant for the user: a code that decides the HTTP status and a
// message that says what to do. Line and Column locate script errors; Field is the
// JSON pointer of the input that EInvalidInputs refuses.
type Error struct {
	Code    string
	Message string
	Line    int
	Column  int
	Field   string
}

func (e *Error) Error() string { return e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, else EInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of err, or a generic one for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error: the server logged the details; try again or contact the operator."
}
