package scripting

import (
	"errors"
	"time"
)

// ErrCancelled is returned by host calls once the execution has been cancelled. The
// script sees a CancelledError, so that its finally blocks can clean up.
var ErrCancelled = errors.New("the execution was cancelled")

// ErrTimeout is returned by Message when nobody answered in time; the script sees a
// TimeoutExceededError.
var ErrTimeout = errors.New("no answer arrived within the timeout")

// Host is what a running flow can do beyond its own JavaScript. engine implements it on
// top of a Temporal workflow, so that every call that leaves the script is durable and
// replays with its recorded result. Calls that wait (Connect) may block; the CPU budget
// does not run while they do.
type Host interface {
	// Now returns the execution's clock (the workflow's time: it replays identically).
	Now() time.Time
	// Connect starts a connector call as a child execution; Wait on the result gives
	// it once it has ended. An error is a request that could not start (bad inputs,
	// unknown connector); a child that ended ENDED_ERROR is a Child, not an error.
	Connect(req ConnectRequest) (Pending, error)
	// Flow starts another flow as a child execution, like Connect.
	Flow(req FlowRequest) (Pending, error)
	// Message asks a person for input and waits for the answer (ErrTimeout past
	// req.Timeout when that is set).
	Message(req MessageRequest) (any, error)
	// Setting reads a persisted JSON value (ok false when absent); SaveSetting
	// stores one. Both are recorded, so a replay reads and writes nothing twice.
	Setting(name string) (value any, ok bool, err error)
	SaveSetting(name string, value any) error
	// File reads a stored file (ok false when absent); SaveFile stores one.
	File(name string) (content []byte, ok bool, err error)
	SaveFile(name string, content []byte) error
	// Sleep waits durably (a Temporal timer) for d; it returns ErrCancelled when the
	// execution is cancelled meanwhile.
	Sleep(d time.Duration) error
	// Log records one log line of the execution.
	// It returns true when its buffer is full: the script then calls FlushLogs,
	// which may block (the CPU budget is paused meanwhile).
	Log(level, message string) (full bool)
	// FlushLogs records the buffered log lines.
	FlushLogs()
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
	// Secrets are the places in Inputs where the script passed system.secret
	// handles (Inputs hold placeholders there): the only secrets a call may
	// resolve besides its saved connector's.
	Secrets []SecretRef `json:"secrets,omitempty"`
	// Wait says the script waits for the call at once (no {wait: false}): a host
	// that runs the script elsewhere may start and wait in one step. Connect still
	// returns a Pending, and the script still calls its Wait.
	Wait bool `json:"wait,omitempty"`
}

// FlowRequest asks for a child flow run.
type FlowRequest struct {
	Name   string
	Inputs map[string]any
	// Wait is as ConnectRequest's.
	Wait bool `json:"wait,omitempty"`
}

// MessageRequest is this.message's argument.
type MessageRequest struct {
	Subject string         `json:"subject"`
	Body    any            `json:"body,omitempty"`
	Fields  any            `json:"fields,omitempty"`
	Timeout time.Duration  `json:"-"`
	Extra   map[string]any `json:"-"`
}

// Pending is a started child execution.
type Pending interface {
	// ID and Name are known at once.
	ID() string
	Name() string
	// Wait blocks until the child has ended (the CPU budget is paused meanwhile) and
	// returns it; calling it again returns the same result.
	Wait() (Child, error)
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

// InputError is a host call refused for its inputs (an unknown flow or connector, a
// missing setting): the script sees a TypeError with the message.
type InputError struct{ Message string }

func (e *InputError) Error() string { return e.Message }
