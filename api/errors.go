package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	engine.EInvalid:       http.StatusBadRequest,
	engine.EUnauthorized:  http.StatusUnauthorized,
	engine.EForbidden:     http.StatusForbidden,
	engine.ENotFound:      http.StatusNotFound,
	engine.EConflict:      http.StatusConflict,
	engine.EInvalidScript: http.StatusUnprocessableEntity,
	engine.EUnprocessable: http.StatusUnprocessableEntity,
	engine.EInvalidInputs: http.StatusUnprocessableEntity,
	engine.ERateLimited:   http.StatusTooManyRequests,
	engine.EUnavailable:   http.StatusServiceUnavailable,
	engine.EInternal:      http.StatusInternalServerError,
}

// codeOfStatus maps Echo's own errors (unknown route, wrong method, body too large)
// back to codes.
var codeOfStatus = map[int]string{
	http.StatusBadRequest:            engine.EInvalid,
	http.StatusUnauthorized:          engine.EUnauthorized,
	http.StatusForbidden:             engine.EForbidden,
	http.StatusNotFound:              engine.ENotFound,
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusTooManyRequests:       engine.ERateLimited,
	http.StatusServiceUnavailable:    engine.EUnavailable,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	// Field is the JSON pointer of the bad input of an invalid_inputs error.
	Field string `json:"field,omitempty"`
}

// retryAfterSeconds is the Retry-After of every 503: the outages behind them (a
// database or Temporal restarting, failing over) pass in seconds.
const retryAfterSeconds = "5"

// errorHandler writes every error as {"error": {code, message}}. An error that
// unavailable names (a database or Temporal that cannot be reached) is a 503 with
// Retry-After, whatever route it comes from. Internal errors are logged with the
// request and shown as a generic message.
func errorHandler(log *slog.Logger, unavailable func(error) string) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		var (
			status int
			detail errorDetail
			ee     *engine.Error
			he     *echo.HTTPError
			what   string
		)
		if unavailable != nil {
			what = unavailable(err)
		}
		switch {
		case what != "":
			status = http.StatusServiceUnavailable
			detail = errorDetail{Code: engine.EUnavailable, Message: what + " is unreachable; try again in a few seconds (the operator sees the cause in GET /readyz and the server log)"}
			log.Warn("request failed: "+what+" is unreachable", "method", c.Request().Method, "path", c.Request().URL.Path, "error", err)
		case errors.As(err, &ee):
			status = statusOf[ee.Code]
			if status == 0 {
				status = http.StatusInternalServerError
			}
			detail = errorDetail{Code: ee.Code, Message: ee.Message, Line: ee.Line, Column: ee.Column, Field: ee.Field}
		case errors.As(err, &he):
			status = he.Code
			code, ok := codeOfStatus[status]
			if !ok {
				code = engine.EInvalid
			}
			msg := http.StatusText(status)
			switch status {
			case http.StatusNotFound:
				msg = "no such route: " + c.Request().Method + " " + c.Request().URL.Path + "; the routes are listed in GET /api/v1/openapi.json"
			case http.StatusMethodNotAllowed:
				msg = "method " + c.Request().Method + " is not allowed on " + c.Request().URL.Path
			case http.StatusRequestEntityTooLarge:
				msg = "the request body is too large; send less data or store it in a file"
			}
			detail = errorDetail{Code: code, Message: msg}
		default:
			status = http.StatusInternalServerError
			detail = errorDetail{Code: engine.EInternal, Message: engine.ErrorMessage(err)}
		}
		if status >= 500 && status != http.StatusServiceUnavailable {
			log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "error", err)
		}
		if status == http.StatusServiceUnavailable {
			c.Response().Header().Set("Retry-After", retryAfterSeconds)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, errorBody{Error: detail})
	}
}

// invalid returns an EInvalid error.
func invalid(format string, args ...any) error {
	return engine.Errorf(engine.EInvalid, format, args...)
}

// maxBodyDepth bounds how deep a JSON request body nests: inputs, answers and
// settings are stored and searched as JSON, which the databases parse only so deep.
const maxBodyDepth = 64

// checkJSONDepth returns an EUnprocessable error, which names what and limit, when the
// JSON text raw nests arrays and objects more than limit deep. It only counts
// brackets outside strings, so it is cheap and safe before decoding, and it says
// nothing about whether raw is valid JSON.
func checkJSONDepth(what string, raw []byte, limit int) error {
	depth, inString, escaped := 0, false, false
	for _, b := range raw {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch b {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case b == '"':
			inString = true
		case b == '[' || b == '{':
			depth++
			if depth > limit {
				return engine.Errorf(engine.EUnprocessable, "%s is nested more than %d levels deep, the limit; send flatter JSON", what, limit)
			}
		case b == ']' || b == '}':
			depth--
		}
	}
	return nil
}

// shorten returns s, cut to 128 bytes with "..." when longer, for error messages that
// echo what a client sent.
func shorten(s string) string {
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}
