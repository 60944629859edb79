package scripting

import (
	"errors"
	"time"
)

// ErrCancelled is returned by host calls once the execution has been cancelled. The
// script sees a CancelledError, so that its finally blocks can clean up.
var ErrCancelled = errors.New("the execution was cancelled")

// Host is what a running flow can do beyond its own JavaScript. engine implements it on
// top of a Temporal workflow, so that every call that leaves the script is durable and
// replays with its recorded result. Calls that wait (Connect) may block; the CPU budget
// does not run while they do.
type Host interface {
	// Now returns the execution's clock (the workflow's time: it replays identically).
	Now() time.Time
	// Connect runs a connector as a child execution and returns it once it has ended.
	// An error is a request that could not start (bad inputs, unknown connector); a
	// child that ended ENDED_ERROR is returned as a Child, not an error.
	Connect(req ConnectRequest) (Child, error)
	// Sleep waits durably (a Temporal timer) for d; it returns ErrCancelled when the
	// execution is cancelled meanwhile.
	Sleep(d time.Duration) error
	// Log records one log line of the execution.
	Log(level, message string)
	// SetOutput sets one key of the execution's output_value now.
	SetOutput(key string, value any)
	// Self returns the running execution's fields for this.get().
	Self() Child
}

// ConnectRequest asks for a connector call: a saved connector by Name with Inputs as
// overrides, or an inline one (Name empty) whose Inputs hold connector_type.
type ConnectRequest struct {
	Name   string
	Inputs map[string]any
}

// Child is an execution as a script sees it through a handle's get().
type Child struct {
	ID            string
	Name          string
	Status        string
	StatusMessage string
	Inputs        map[string]any
	Outputs       map[string]any
}

// Outcome is how a script ended.
type Outcome struct {
	// Status is "ENDED_SUCCESS" or "ENDED_ERROR".
	Status  string
	Message string
	// Outputs is the output_value: keys set with set_output, then the handler's
	// returned object (or {"result": value}) on top.
	Outputs map[string]any
}
