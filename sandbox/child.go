package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/flowd/flowd/scripting"
)

// Environment of a sandbox process, set by the parent.
const (
	// EnvChild marks a process started as a sandbox: a binary that runs flowd's worker
	// calls ServeChild when it is set (see IsChild).
	EnvChild = "FLOWD_SANDBOX"
	// envMemory is the memory limit in bytes.
	envMemory = "FLOWD_SANDBOX_MEMORY"
)

// IsChild reports whether this process was started as a sandbox.
func IsChild() bool { return os.Getenv(EnvChild) == "1" }

// ServeChild is the main function of a sandbox process: it limits its own memory, then
// runs the jobs its parent sends on stdin until stdin closes, and exits. It never returns.
func ServeChild() {
	limit, _ := strconv.ParseInt(os.Getenv(envMemory), 10, 64)
	if limit > 0 {
		if err := limitMemory(limit); err != nil {
			fmt.Fprintln(os.Stderr, "flowd sandbox: cannot limit memory:", err)
			os.Exit(3)
		}
		// The collector works harder before the hard limit is reached, so that a
		// script that frees what it allocates stays within it.
		debug.SetMemoryLimit(limit * 9 / 10)
	}
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	for {
		f, err := readFrame(in)
		if err == io.EOF {
			os.Exit(0)
		}
		if err == nil && f.T == frameCheck && f.Job != nil {
			check(out, *f.Job)
			continue
		}
		if err != nil || f.T != frameRun || f.Job == nil {
			fmt.Fprintln(os.Stderr, "flowd sandbox: expected a run frame:", err)
			os.Exit(3)
		}
		p := &proxy{in: in, out: out, now: f.Now}
		if f.Self != nil {
			p.self = *f.Self
		}
		outcome := runGuarded(*f.Job, p)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		end := &frame{T: frameEnd, Outcome: &outcome, HeapBytes: ms.HeapSys}
		if err := writeFrame(out, end); err != nil {
			// Outputs over the frame limit: the engine refuses outputs over 1 MiB anyway.
			end.Outcome = &scripting.Outcome{Status: "ENDED_ERROR", Outputs: map[string]any{},
				Message: "the flow's outputs are too large to be stored: return less, or save large data with system.file(name).save_text_content()"}
			if err := writeFrame(out, end); err != nil {
				os.Exit(3)
			}
		}
		if err := out.Flush(); err != nil {
			os.Exit(3)
		}
	}
}

// check answers a check frame with the save-time checks' result.
func check(out *bufio.Writer, job scripting.Job) {
	ret := &frame{T: frameChecked}
	if err := scripting.CheckScript(job.Name, job.Script); err != nil {
		var se *scripting.ScriptError
		if !errors.As(err, &se) {
			se = &scripting.ScriptError{Message: err.Error()}
		}
		ret.ScriptErr = se
	}
	if writeFrame(out, ret) != nil || out.Flush() != nil {
		os.Exit(3)
	}
}

// runGuarded runs a job and turns a panic of the runtime into an error outcome: the
// script cannot cause one on purpose, but if goja has a bug, the execution ends with
// a message instead of a crash that looks like the script's fault.
func runGuarded(job scripting.Job, p *proxy) (out scripting.Outcome) {
	defer func() {
		if rec := recover(); rec != nil {
			if _, broken := rec.(pipeBroken); broken {
				os.Exit(3) // the parent is gone
			}
			out = scripting.Outcome{Status: "ENDED_ERROR", Outputs: map[string]any{},
				Message: fmt.Sprintf("the script runtime failed (%v); this is a bug in flowd: please report it with the script", rec)}
		}
	}()
	prog, err := scripting.Compile(job.Name, job.Script)
	if err != nil {
		return scripting.Outcome{Status: "ENDED_ERROR", Message: "the flow's script cannot run: " + err.Error(), Outputs: map[string]any{}}
	}
	// The parent counts the script's first step from here, not the compiling.
	p.send(&frame{T: frameReady})
	inputs := job.Inputs
	if inputs == nil {
		inputs = map[string]any{}
	}
	return scripting.Run(prog, p, inputs, job.Options)
}

// pipeBroken is the panic value when the parent cannot be reached.
type pipeBroken struct{ err error }

// proxy implements scripting.Host in the sandbox by calling the parent.
type proxy struct {
	in      *bufio.Reader
	out     *bufio.Writer
	now     time.Time
	self    scripting.Child
	handles int
}

// call sends a call frame and waits for its ret. A frame that cannot be encoded (too
// big) is the script's input error; a broken pipe ends the process.
func (p *proxy) call(op string, arg, result any) error {
	raw, err := json.Marshal(arg)
	if err != nil {
		return &scripting.InputError{Message: "the arguments cannot be encoded as JSON: " + err.Error()}
	}
	if err := writeFrame(p.out, &frame{T: frameCall, Op: op, Arg: raw}); err != nil {
		if tb, ok := err.(errFrameTooBig); ok {
			return &scripting.InputError{Message: fmt.Sprintf("the data passed is %d bytes, over the limit of %d: pass large data through a stored file (system.file)", tb.n, MaxFrameBytes)}
		}
		panic(pipeBroken{err})
	}
	if err := p.out.Flush(); err != nil {
		panic(pipeBroken{err})
	}
	f, err := readFrame(p.in)
	if err != nil || f.T != frameRet {
		panic(pipeBroken{err})
	}
	if !f.Now.IsZero() {
		p.now = f.Now
	}
	if f.Err != nil {
		return f.Err.err()
	}
	if result != nil && len(f.V) > 0 {
		if err := json.Unmarshal(f.V, result); err != nil {
			panic(pipeBroken{err})
		}
	}
	return nil
}

// send writes a one-way frame at once: the parent reads frames in order, so it sees
// the line or output before the next call, and a line logged just before the script
// is stopped for a limit is not lost with the sandbox.
func (p *proxy) send(f *frame) {
	if err := writeFrame(p.out, f); err != nil {
		if _, ok := err.(errFrameTooBig); ok {
			return // a log line or output too big to carry: the engine would truncate or refuse it
		}
		panic(pipeBroken{err})
	}
	if err := p.out.Flush(); err != nil {
		panic(pipeBroken{err})
	}
}

func (p *proxy) Now() time.Time { return p.now }

func (p *proxy) started(op string, arg any) (scripting.Pending, error) {
	var r startedRet
	if err := p.call(op, arg, &r); err != nil {
		return nil, err
	}
	rp := &remotePending{p: p, ret: r}
	if r.Waited && r.Child != nil {
		rp.child, rp.err, rp.done = *r.Child, r.WaitErr.err(), true
	}
	return rp, nil
}

func (p *proxy) Connect(req scripting.ConnectRequest) (scripting.Pending, error) {
	return p.started(opConnect, req)
}

func (p *proxy) Flow(req scripting.FlowRequest) (scripting.Pending, error) {
	return p.started(opFlow, req)
}

func (p *proxy) Message(req scripting.MessageRequest) (any, error) {
	var answer any
	err := p.call(opMessage, messageArg{Request: req, Timeout: req.Timeout, Extra: req.Extra}, &answer)
	return answer, err
}

func (p *proxy) Setting(name string) (any, bool, error) {
	var r storedRet
	err := p.call(opSetting, name, &r)
	return r.Value, r.OK, err
}

func (p *proxy) SaveSetting(name string, value any) error {
	return p.call(opSaveSetting, saveArg{Name: name, Value: value}, nil)
}

func (p *proxy) File(name string) ([]byte, bool, error) {
	var r storedRet
	err := p.call(opFile, name, &r)
	return r.Content, r.OK, err
}

func (p *proxy) SaveFile(name string, content []byte) error {
	return p.call(opSaveFile, saveArg{Name: name, Content: content}, nil)
}

func (p *proxy) Sleep(d time.Duration) error { return p.call(opSleep, d, nil) }

// Log sends the line at once; the parent flushes the engine's buffer when it is full,
// so a full buffer is never the script's concern here.
func (p *proxy) Log(level, message string) bool {
	p.send(&frame{T: frameLog, Level: level, Message: message})
	return false
}

func (p *proxy) FlushLogs() { _ = p.call(opFlushLogs, nil, nil) }

func (p *proxy) SetOutput(key string, value any) {
	p.send(&frame{T: frameOutput, Key: key, Value: value})
}

func (p *proxy) Self() scripting.Child { return p.self }

// remotePending is a child execution started by the parent, named by a handle.
type remotePending struct {
	p     *proxy
	ret   startedRet
	done  bool
	child scripting.Child
	err   error
}

func (r *remotePending) ID() string   { return r.ret.ID }
func (r *remotePending) Name() string { return r.ret.Name }

func (r *remotePending) Wait() (scripting.Child, error) {
	if !r.done {
		r.err = r.p.call(opWait, r.ret.Handle, &r.child)
		r.done = true
	}
	return r.child, r.err
}
