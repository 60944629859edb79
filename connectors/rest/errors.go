package rest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// InputError reports inputs that cannot work as given. Retrying the same call
// cannot succeed, so the engine must not retry it.
type InputError struct {
	Inputs  []string // the inputs at fault, when known
	Message string   // what is wrong and what to do about it
}

func (e *InputError) Error() string { return e.Message }

// inputErrorf returns an *InputError about input name.
func inputErrorf(name, format string, args ...any) *InputError {
	return &InputError{Inputs: []string{name}, Message: fmt.Sprintf(format, args...)}
}

// StatusError reports a response whose status is not in expected_status_code. The
// outputs returned with it hold the whole response.
type StatusError struct {
	Method     string
	URL        string // without credentials
	StatusCode int
	Status     string // e.g. "404 Not Found"
	Expected   []int
	Excerpt    string // the start of the body, when it is text
	Tries      int    // how many tries were made, when more than one
}

func (e *StatusError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s answered %s, expected %s", e.Method, e.URL, e.Status, joinInts(e.Expected))
	if e.Tries > 1 {
		fmt.Fprintf(&b, " (after %d tries)", e.Tries)
	}
	if e.Excerpt != "" {
		fmt.Fprintf(&b, " (body: %s)", e.Excerpt)
	}
	switch {
	case e.StatusCode == 401 || e.StatusCode == 403:
		b.WriteString("; check the credentials and authentication_method")
	case e.StatusCode == 404:
		b.WriteString("; check the url and path")
	case e.StatusCode >= 500:
		b.WriteString("; the server failed, try again later or add the status to retry_status_code")
	default:
		b.WriteString("; check the request")
	}
	fmt.Fprintf(&b, ", or add %d to expected_status_code if this answer is fine", e.StatusCode)
	return b.String()
}

// ErrBodyTooLarge is wrapped by the error of a call whose response body is larger
// than Connector.MaxBodyBytes. Retrying does not help.
var ErrBodyTooLarge = errors.New("response body too large")

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	if len(s) == 1 {
		return s[0]
	}
	return "one of " + strings.Join(s, ", ")
}
