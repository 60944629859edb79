// Package sandbox runs flow scripts in child processes with an OS-enforced memory limit,
// so that a script can end only its own execution: an allocation past the limit, a
// runaway built-in or a crash of the runtime kills the sandbox, never the worker.
//
// The worker (the parent) and a sandbox (the child) talk over the child's stdin and
// stdout in frames: a 4-byte big-endian length, then one JSON object. The parent sends
// a run frame; the child runs the script and, for every call that leaves the script
// (scripting.Host), sends a call frame and waits for the ret frame; log lines and
// set_output travel one way; an end frame carries the outcome. A sandbox runs one
// script at a time and is reused for the next one when the script ended cleanly.
package sandbox

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/flowd/flowd/scripting"
)

// MaxFrameBytes bounds one frame either way. A connect's inputs and a flow's outputs are
// limited to 1 MiB by the engine; this cap only keeps a misbehaving script from making
// the worker read without bound.
const MaxFrameBytes = 8 << 20

// Frame types.
const (
	frameRun     = "run"     // parent → child: run Job
	frameReady   = "ready"   // child → parent: the script compiled, it starts now (no reply)
	frameCall    = "call"    // child → parent: a Host call that waits for its ret
	frameLog     = "log"     // child → parent: one log line (no reply)
	frameOutput  = "output"  // child → parent: set_output (no reply)
	frameRet     = "ret"     // parent → child: the result of the last call
	frameEnd     = "end"     // child → parent: the script ended
	frameCheck   = "check"   // parent → child: run the save-time checks of Job.Script
	frameChecked = "checked" // child → parent: the checks' result (ScriptErr)
)

// Host operations carried by call frames.
const (
	opConnect     = "connect"
	opFlow        = "flow"
	opWait        = "wait"
	opMessage     = "message"
	opSetting     = "setting"
	opSaveSetting = "save_setting"
	opFile        = "file"
	opSaveFile    = "save_file"
	opSleep       = "sleep"
	opFlushLogs   = "flush_logs"
)

// frame is one message on the pipe.
type frame struct {
	T  string `json:"t"`
	Op string `json:"op,omitempty"`
	// Job and Self start a run.
	Job  *scripting.Job   `json:"job,omitempty"`
	Self *scripting.Child `json:"self,omitempty"`
	// Arg is a call's argument, V a ret's value.
	Arg json.RawMessage `json:"arg,omitempty"`
	V   json.RawMessage `json:"v,omitempty"`
	Err *wireError      `json:"err,omitempty"`
	// Now is the script's clock, sent with every run and ret frame.
	Now time.Time `json:"now,omitzero"`
	// Level and Message are a log line; Key and Value a set_output.
	Level   string `json:"level,omitempty"`
	Message string `json:"message,omitempty"`
	Key     string `json:"key,omitempty"`
	Value   any    `json:"value,omitempty"`
	// Outcome ends a run; HeapBytes is the sandbox's heap afterwards.
	Outcome   *scripting.Outcome `json:"outcome,omitempty"`
	HeapBytes uint64             `json:"heap_bytes,omitempty"`
	// ScriptErr is a check's refusal.
	ScriptErr *scripting.ScriptError `json:"script_err,omitempty"`
}

// wireError carries a Host error with its kind, so that the script side sees the same
// sentinel errors (scripting.ErrCancelled, ErrTimeout, *InputError) as in process.
type wireError struct {
	Kind    string `json:"kind"` // cancelled, timeout, input or error
	Message string `json:"message"`
}

func toWire(err error) *wireError {
	var ie *scripting.InputError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, scripting.ErrCancelled):
		return &wireError{Kind: "cancelled", Message: err.Error()}
	case errors.Is(err, scripting.ErrTimeout):
		return &wireError{Kind: "timeout", Message: err.Error()}
	case errors.As(err, &ie):
		return &wireError{Kind: "input", Message: ie.Message}
	}
	return &wireError{Kind: "error", Message: err.Error()}
}

func (w *wireError) err() error {
	switch {
	case w == nil:
		return nil
	case w.Kind == "cancelled":
		return scripting.ErrCancelled
	case w.Kind == "timeout":
		return scripting.ErrTimeout
	case w.Kind == "input":
		return &scripting.InputError{Message: w.Message}
	}
	return errors.New(w.Message)
}

// errFrameTooBig is a frame over MaxFrameBytes.
type errFrameTooBig struct{ n int }

func (e errFrameTooBig) Error() string {
	return fmt.Sprintf("a message of %d bytes between the script and the worker exceeds the limit of %d", e.n, MaxFrameBytes)
}

func writeFrame(w io.Writer, f *frame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if len(b) > MaxFrameBytes {
		return errFrameTooBig{len(b)}
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	_, err = w.Write(buf)
	return err
}

func readFrame(r *bufio.Reader) (*frame, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(head[:]))
	if n > MaxFrameBytes {
		return nil, errFrameTooBig{n}
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	f := &frame{}
	if err := json.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("a malformed message from the other side: %w", err)
	}
	return f, nil
}

// Wire forms of Host arguments and results that are not plain JSON already.
type (
	startedRet struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Handle int    `json:"handle"`
		// Waited is set when the request asked to wait (ConnectRequest.Wait): the
		// child's end comes with the start, in one round trip.
		Waited  bool             `json:"waited,omitempty"`
		Child   *scripting.Child `json:"child,omitempty"`
		WaitErr *wireError       `json:"wait_err,omitempty"`
	}
	messageArg struct {
		Request scripting.MessageRequest `json:"request"`
		Timeout time.Duration            `json:"timeout"`
		Extra   map[string]any           `json:"extra,omitempty"`
	}
	storedRet struct {
		Value   any    `json:"value,omitempty"`
		Content []byte `json:"content,omitempty"`
		OK      bool   `json:"ok"`
	}
	saveArg struct {
		Name    string `json:"name"`
		Value   any    `json:"value,omitempty"`
		Content []byte `json:"content,omitempty"`
	}
)
