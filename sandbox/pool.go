package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowd/flowd/scripting"
)

// Defaults of a Pool.
const (
	// DefaultMemoryLimit is what one script may allocate (--script-memory-limit).
	DefaultMemoryLimit = 256 << 20
	// DefaultWallLimit ends a step (the computing between two waits) that has not
	// yielded after this long: above the 3 s wall limit the script's own runtime
	// enforces, and below the worker's deadlock detector.
	DefaultWallLimit = 4 * time.Second
	// cpuGrace is how much CPU time a step may use past its budget before the sandbox
	// is killed: the runtime interrupts a script at its budget between two
	// instructions, but not inside a built-in that loops in Go (join, sort, JSON,
	// a regular expression); this is the stop for those.
	cpuGrace = 700 * time.Millisecond
	// compileGrace is the CPU time a sandbox may use to compile the script.
	compileGrace = time.Second
	// A sandbox is reused for the next script unless its heap has grown past
	// recycleHeap or it has run recycleRuns scripts.
	recycleHeap = 64 << 20
	recycleRuns = 1000
	// DefaultMaxOutputBytes is the engine's limit on a flow's outputs (1 MiB).
	DefaultMaxOutputBytes = 1 << 20
	// maxCrashRecords bounds the crash records kept for executions that never came back.
	maxCrashRecords = 10000
)

// Pool runs scripts in sandbox processes. The zero value is not usable: set the fields
// and call Start. A Pool is safe for concurrent use; each Run holds one sandbox.
type Pool struct {
	// Binary is the sandbox program. Empty: flowd-sandbox beside the running
	// executable if there is one, else the running executable itself, which must call
	// ServeChild when IsChild reports true.
	Binary string
	// MemoryLimit is the most a script may allocate, in bytes (0: DefaultMemoryLimit).
	MemoryLimit int64
	// WallLimit ends a step that has not yielded after this long (0: DefaultWallLimit).
	WallLimit time.Duration
	// MaxOutputBytes bounds the JSON size of what a script sets with set_output (0:
	// DefaultMaxOutputBytes, the engine's limit on a flow's outputs).
	MaxOutputBytes int
	// CheckLimit bounds the CPU time of a script's save-time checks (0:
	// DefaultCheckLimit).
	CheckLimit time.Duration
	// Spare is how many started sandboxes wait for the next script (0: 2), so that a
	// run does not wait for a process to start.
	Spare int
	Log   *slog.Logger

	mu      sync.Mutex
	idle    []*proc
	filling bool
	closed  bool
	crashes map[string]int // execution id → sandbox crashes seen by this worker
	path    string

	started, killed atomic.Int64
}

// Stats are counters of a pool, for metrics and tests.
type Stats struct {
	Started int64 // sandbox processes started
	Killed  int64 // sandboxes killed: a limit, a crash or an abandoned run
	Idle    int   // started sandboxes waiting for a script
}

// Start checks that the sandbox program runs and starts the spare sandboxes.
func (p *Pool) Start() error {
	if p.MemoryLimit <= 0 {
		p.MemoryLimit = DefaultMemoryLimit
	}
	if p.WallLimit <= 0 {
		p.WallLimit = DefaultWallLimit
	}
	if p.Spare <= 0 {
		p.Spare = 2
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
	p.crashes = map[string]int{}
	path, err := p.resolve()
	if err != nil {
		return err
	}
	p.path = path
	if reducedProtection != "" {
		p.Log.Warn("script sandboxes on "+runtime.GOOS+" have reduced protection: "+reducedProtection, "os", runtime.GOOS)
	}
	if self, _ := os.Executable(); path == self && p.Spare == 2 && p.Binary == "" {
		// flowd itself as the sandbox is a much larger process than flowd-sandbox:
		// keep one spare only.
		p.Spare = 1
	}
	sb, err := p.spawn()
	if err != nil {
		return fmt.Errorf("start a script sandbox (%s): %w", path, err)
	}
	p.mu.Lock()
	p.idle = append(p.idle, sb)
	p.mu.Unlock()
	p.refill()
	return nil
}

func (p *Pool) resolve() (string, error) {
	if p.Binary != "" {
		return p.Binary, nil
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find the running executable to start script sandboxes: %w; set --sandbox-binary", err)
	}
	beside := filepath.Join(filepath.Dir(self), "flowd-sandbox")
	if st, err := os.Stat(beside); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return beside, nil
	}
	return self, nil
}

// Path is the sandbox program in use.
func (p *Pool) Path() string { return p.path }

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Started: p.started.Load(), Killed: p.killed.Load(), Idle: len(p.idle)}
}

// Close stops the idle sandboxes. Sandboxes running a script end with their run (or
// with this process: they are started to die with their parent).
func (p *Pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, sb := range idle {
		sb.stop()
	}
}

// proc is one sandbox process.
type proc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	w      *bufio.Writer
	frames chan frameOrErr
	stderr *headWriter
	exited chan struct{}
	gone   chan struct{} // closed when the pool stops reading: killed or stopped
	runs   int
	kill   sync.Once
}

type frameOrErr struct {
	f   *frame
	err error
}

func (p *Pool) spawn() (*proc, error) {
	cmd := exec.Command(p.path)
	// A clean environment: the worker's secrets (FLOWD_SECRET_KEY, database URLs)
	// never reach a sandbox.
	cmd.Env = []string{EnvChild + "=1", envMemory + "=" + strconv.FormatInt(p.MemoryLimit, 10), "GOMAXPROCS=1", "GOTRACEBACK=none"}
	cmd.SysProcAttr = childAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// An os.Pipe rather than StdoutPipe: Wait must not close the read end before the
	// frames the sandbox wrote last (a log line before a crash) have been read.
	stdout, childOut, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = childOut
	sb := &proc{cmd: cmd, stdin: stdin, w: bufio.NewWriterSize(stdin, 64<<10), frames: make(chan frameOrErr, 16),
		stderr: &headWriter{max: 8 << 10}, exited: make(chan struct{}), gone: make(chan struct{})}
	cmd.Stderr = sb.stderr
	err = cmd.Start()
	childOut.Close()
	if err != nil {
		stdout.Close()
		return nil, err
	}
	p.started.Add(1)
	go func() {
		defer stdout.Close()
		r := bufio.NewReaderSize(stdout, 64<<10)
		for {
			f, err := readFrame(r)
			select {
			case sb.frames <- frameOrErr{f, err}:
			case <-sb.gone: // nobody reads any more: the sandbox was stopped
				return
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(sb.exited)
	}()
	return sb, nil
}

// stop ends an idle sandbox: it exits when its stdin closes.
func (sb *proc) stop() {
	sb.kill.Do(func() { close(sb.gone) })
	_ = sb.stdin.Close()
	select {
	case <-sb.exited:
	case <-time.After(time.Second):
		_ = sb.cmd.Process.Kill()
	}
}

// kill ends a sandbox at once and waits for it.
func (p *Pool) kill(sb *proc) {
	sb.kill.Do(func() {
		p.killed.Add(1)
		close(sb.gone)
		_ = sb.cmd.Process.Kill()
	})
	<-sb.exited
}

// take returns an idle sandbox or starts one.
func (p *Pool) take() (*proc, error) {
	p.mu.Lock()
	var sb *proc
	if n := len(p.idle); n > 0 {
		sb, p.idle = p.idle[n-1], p.idle[:n-1]
	}
	p.mu.Unlock()
	p.refill()
	if sb != nil {
		select {
		case <-sb.exited: // died while idle (killed from outside): start another
		default:
			return sb, nil
		}
	}
	return p.spawn()
}

// give returns a sandbox after a clean run.
func (p *Pool) give(sb *proc) {
	p.mu.Lock()
	if p.closed || len(p.idle) >= 2*p.Spare {
		p.mu.Unlock()
		sb.stop()
		return
	}
	p.idle = append(p.idle, sb)
	p.mu.Unlock()
}

// refill starts spare sandboxes in the background.
func (p *Pool) refill() {
	p.mu.Lock()
	if p.filling || p.closed || len(p.idle) >= p.Spare {
		p.mu.Unlock()
		return
	}
	p.filling = true
	p.mu.Unlock()
	go func() {
		for {
			p.mu.Lock()
			if p.closed || len(p.idle) >= p.Spare {
				p.filling = false
				p.mu.Unlock()
				return
			}
			p.mu.Unlock()
			sb, err := p.spawn()
			p.mu.Lock()
			if err != nil || p.closed {
				p.filling = false
				p.mu.Unlock()
				if err != nil {
					p.Log.Warn("cannot start a spare script sandbox", "error", err)
				} else {
					sb.stop()
				}
				return
			}
			p.idle = append(p.idle, sb)
			p.mu.Unlock()
		}
	}()
}

// Run runs a job in a sandbox against host and returns how the script ended. A script
// that goes past a limit ends ENDED_ERROR with a message that says which; a sandbox
// that crashes for no reason the script shows is retried once (Run panics, so that
// the workflow task fails and Temporal runs it again) and ends the execution
// ENDED_ERROR the second time. If no sandbox can be started, Run panics too: the
// worker is at fault, not the script, and the task is retried.
func (p *Pool) Run(job scripting.Job, host scripting.Host) scripting.Outcome {
	for attempt := 0; ; attempt++ {
		out, retry := p.runOnce(job, host, attempt > 0)
		if !retry {
			return out
		}
	}
}

// runOnce runs a job in one sandbox. retry is true when the sandbox died before the
// script started (a spare killed while idle, say): nothing of the script ran yet, so
// Run tries once more in a new one.
func (p *Pool) runOnce(job scripting.Job, host scripting.Host, fresh bool) (_ scripting.Outcome, retry bool) {
	var sb *proc
	var err error
	if fresh {
		sb, err = p.spawn()
	} else {
		sb, err = p.take()
	}
	if err != nil {
		panic(fmt.Sprintf("cannot start a script sandbox (%s): %v; check --sandbox-binary", p.path, err))
	}
	clean := false
	defer func() {
		// Also on a panic that unwinds the workflow (an eviction from the cache):
		// a sandbox in the middle of a script cannot be reused.
		if clean {
			p.give(sb)
		} else {
			p.kill(sb)
		}
	}()
	step := budget(job) + cpuGrace
	r := &run{pool: p, sb: sb, host: host, outputs: map[string]any{}, cpuLimit: step + compileGrace}
	self := host.Self()
	started := false
	fail := func(err error) (scripting.Outcome, bool) {
		if !started && !fresh {
			var st stopped
			p.kill(sb)
			if !errors.As(err, &st) && !outOfMemory(sb.stderr.String()) {
				return scripting.Outcome{}, true
			}
		}
		return p.failed(job, r, err), false
	}
	if err := r.send(&frame{T: frameRun, Job: &job, Self: &self, Now: host.Now()}); err != nil {
		return fail(err)
	}
	for {
		f, err := r.next()
		if err != nil {
			return fail(err)
		}
		switch f.T {
		case frameReady:
			started = true
			r.stepCPU, r.cpuLimit = cpuUnknown, step
		case frameLog:
			if host.Log(f.Level, f.Message) {
				host.FlushLogs()
			}
		case frameOutput:
			if err := r.output(f.Key, f.Value); err != nil {
				return fail(err)
			}
		case frameCall:
			v, herr := r.dispatch(f)
			ret := &frame{T: frameRet, V: v, Err: toWire(herr), Now: host.Now()}
			r.cpuLimit = step
			if err := r.send(ret); err != nil {
				return fail(err)
			}
		case frameEnd:
			if f.Outcome == nil {
				return fail(errors.New("an end message without an outcome"))
			}
			sb.runs++
			clean = f.HeapBytes < recycleHeap && sb.runs < recycleRuns
			p.forget(job.ExecutionID)
			out := *f.Outcome
			if out.Outputs == nil {
				out.Outputs = map[string]any{}
			}
			return out, false
		default:
			return fail(fmt.Errorf("an unexpected %q message", f.T))
		}
	}
}

// DefaultCheckLimit bounds the CPU time of the save-time checks of one script
// (compiling it).
const DefaultCheckLimit = time.Second

// Check runs the save-time checks of a script (scripting.CheckScript) in a sandbox, so
// that a script that takes long or much memory to compile is refused instead of
// holding the API: past CheckLimit or the memory limit it is a *scripting.ScriptError
// that says so. Another error means no sandbox could run the check.
func (p *Pool) Check(name, src string) error {
	sb, err := p.take()
	if err != nil {
		return fmt.Errorf("cannot start a script sandbox to check the script (%s): %w; check --sandbox-binary", p.path, err)
	}
	clean := false
	defer func() {
		if clean {
			p.give(sb)
		} else {
			p.kill(sb)
		}
	}()
	// CPU time is what a script costs to compile; the wall-clock limit is above it,
	// so that a busy machine does not refuse a script that is fine.
	limit := p.CheckLimit
	if limit <= 0 {
		limit = DefaultCheckLimit
	}
	r := &run{pool: p, sb: sb, wallLimit: 3 * limit, cpuLimit: limit}
	if err := r.send(&frame{T: frameCheck, Job: &scripting.Job{Name: name, Script: src}}); err != nil {
		return fmt.Errorf("check the script in a sandbox: %w", err)
	}
	f, err := r.next()
	var st stopped
	switch {
	case errors.As(err, &st):
		return &scripting.ScriptError{Message: fmt.Sprintf("the script takes more than %s to compile and is refused: nest less deeply, split long expressions, or move data into a stored file (system.file)", limit)}
	case err != nil:
		p.kill(sb)
		if outOfMemory(sb.stderr.String()) {
			return &scripting.ScriptError{Message: fmt.Sprintf("the script needs more than %s of memory to compile and is refused: make it smaller", mib(p.MemoryLimit))}
		}
		return fmt.Errorf("the sandbox checking the script stopped: %v %s", err, firstLine(sb.stderr.String()))
	case f.T != frameChecked:
		return fmt.Errorf("the sandbox checking the script answered %q", f.T)
	}
	sb.runs++
	clean = sb.runs < recycleRuns
	if f.ScriptErr != nil {
		return f.ScriptErr
	}
	return nil
}

// output records one set_output. The outputs of a flow are bounded (MaxOutputBytes):
// a script that sets more is stopped at once rather than piling them up in the
// worker until its step ends.
func (r *run) output(key string, value any) error {
	raw, _ := json.Marshal(value)
	if r.outputSizes == nil {
		r.outputSizes = map[string]int{}
	}
	r.outputBytes += len(key) + len(raw) - r.outputSizes[key]
	r.outputSizes[key] = len(key) + len(raw)
	if r.outputBytes > r.pool.maxOutput() {
		return errTooMuchOutput{r.outputBytes}
	}
	r.host.SetOutput(key, value)
	r.outputs[key] = value
	return nil
}

// errTooMuchOutput is set_output past MaxOutputBytes.
type errTooMuchOutput struct{ n int }

func (e errTooMuchOutput) Error() string { return "outputs too large" }

func (p *Pool) maxOutput() int {
	if p.MaxOutputBytes > 0 {
		return p.MaxOutputBytes
	}
	return DefaultMaxOutputBytes
}

// run is the parent's side of one script run.
type run struct {
	pool        *Pool
	sb          *proc
	host        scripting.Host
	outputs     map[string]any
	outputSizes map[string]int // JSON bytes of each output key
	outputBytes int
	pending     []scripting.Pending
	cpuLimit    time.Duration // of the current step
	// wallLimit overrides the pool's WallLimit.
	wallLimit time.Duration
	stepCPU   time.Duration // the sandbox's CPU time when the step began
	stepWall  time.Time
}

// tickEvery is how often the parent looks at a computing sandbox's CPU time.
const tickEvery = 100 * time.Millisecond

// cpuUnknown marks a step whose starting CPU time has not been read yet.
const cpuUnknown = time.Duration(-2)

// stopped is why the parent ended a sandbox.
type stopped struct {
	cpu, wall time.Duration
}

func (s stopped) Error() string { return "stopped" }

func (r *run) send(f *frame) error {
	r.stepWall = time.Now()
	r.stepCPU = cpuUnknown // read at the first tick: most steps end long before it
	if err := writeFrame(r.sb.w, f); err != nil {
		return err
	}
	return r.sb.w.Flush()
}

// next waits for the sandbox's next frame while enforcing the step's limits.
func (r *run) next() (*frame, error) {
	wall := r.pool.WallLimit
	if r.wallLimit > 0 {
		wall = r.wallLimit
	}
	deadline := time.NewTimer(time.Until(r.stepWall.Add(wall)))
	defer deadline.Stop()
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	for {
		select {
		case got := <-r.sb.frames:
			return got.f, got.err
		case <-deadline.C:
			r.pool.kill(r.sb)
			return nil, stopped{wall: time.Since(r.stepWall)}
		case <-tick.C:
			now := cpuOf(r.sb.cmd.Process.Pid)
			if now < 0 {
				continue // no CPU clock here: the wall-clock limit applies
			}
			if r.stepCPU == cpuUnknown {
				// Counted as if the sandbox had computed all the time since the step
				// began: at most a tick more than it did.
				r.stepCPU = now - tickEvery
			}
			if used := now - r.stepCPU; used > r.cpuLimit {
				r.pool.kill(r.sb)
				return nil, stopped{cpu: used}
			}
		}
	}
}

// dispatch performs one Host call for the script.
func (r *run) dispatch(f *frame) (json.RawMessage, error) {
	h := r.host
	var v any
	var err error
	switch f.Op {
	case opConnect, opFlow:
		var p scripting.Pending
		waitNow := false
		if f.Op == opConnect {
			var req scripting.ConnectRequest
			if err = json.Unmarshal(f.Arg, &req); err == nil {
				p, err = h.Connect(req)
				waitNow = req.Wait
			}
		} else {
			var req scripting.FlowRequest
			if err = json.Unmarshal(f.Arg, &req); err == nil {
				p, err = h.Flow(req)
				waitNow = req.Wait
			}
		}
		if err == nil && waitNow {
			// The script waits at once: start and wait in one round trip, exactly as
			// the script's own Wait would right after.
			c, werr := p.Wait()
			v = startedRet{ID: p.ID(), Name: p.Name(), Handle: -1, Waited: true, Child: &c, WaitErr: toWire(werr)}
		} else if err == nil {
			r.pending = append(r.pending, p)
			v = startedRet{ID: p.ID(), Name: p.Name(), Handle: len(r.pending) - 1}
		}
	case opWait:
		var n int
		if err = json.Unmarshal(f.Arg, &n); err == nil {
			if n < 0 || n >= len(r.pending) || r.pending[n] == nil {
				err = fmt.Errorf("no such child handle %d", n)
			} else {
				v, err = r.pending[n].Wait()
				// The script keeps the result: a flow with 20,000 connects does not
				// keep 20,000 results in the worker too.
				r.pending[n] = nil
			}
		}
	case opMessage:
		var a messageArg
		if err = json.Unmarshal(f.Arg, &a); err == nil {
			a.Request.Timeout, a.Request.Extra = a.Timeout, a.Extra
			v, err = h.Message(a.Request)
		}
	case opSetting:
		var name string
		if err = json.Unmarshal(f.Arg, &name); err == nil {
			var s storedRet
			s.Value, s.OK, err = h.Setting(name)
			v = s
		}
	case opSaveSetting:
		var a saveArg
		if err = json.Unmarshal(f.Arg, &a); err == nil {
			err = h.SaveSetting(a.Name, a.Value)
		}
	case opFile:
		var name string
		if err = json.Unmarshal(f.Arg, &name); err == nil {
			var s storedRet
			s.Content, s.OK, err = h.File(name)
			v = s
		}
	case opSaveFile:
		var a saveArg
		if err = json.Unmarshal(f.Arg, &a); err == nil {
			err = h.SaveFile(a.Name, a.Content)
		}
	case opSleep:
		var d time.Duration
		if err = json.Unmarshal(f.Arg, &d); err == nil {
			err = h.Sleep(d)
		}
	case opFlushLogs:
		h.FlushLogs()
	default:
		err = fmt.Errorf("unknown call %q", f.Op)
	}
	if err != nil {
		return nil, err
	}
	raw, merr := json.Marshal(v)
	if merr != nil {
		return nil, merr
	}
	return raw, nil
}

// failed turns a sandbox that stopped without an end frame into an outcome.
func (p *Pool) failed(job scripting.Job, r *run, err error) scripting.Outcome {
	p.kill(r.sb) // no-op if it is gone already; waits for its exit and stderr
	end := func(msg string) scripting.Outcome {
		p.forget(job.ExecutionID)
		return scripting.Outcome{Status: "ENDED_ERROR", Message: msg, Outputs: r.outputs}
	}
	var st stopped
	var big errFrameTooBig
	var out errTooMuchOutput
	stderr := r.sb.stderr.String()
	switch {
	case errors.As(err, &out):
		return end(fmt.Sprintf("the flow's outputs grew past %d bytes (set_output) and the script was stopped: return less, or save large data with system.file(name).save_text_content()", p.maxOutput()))
	case errors.As(err, &st) && st.cpu > 0:
		return end(fmt.Sprintf("the script computed for %s of CPU time without waiting and was stopped (a built-in such as join, concat, replaceAll, sort, JSON or a regular expression working on huge data?); its CPU budget is %s per step: break the work into smaller steps or child flows",
			st.cpu.Round(10*time.Millisecond), budget(job)))
	case errors.As(err, &st):
		return end(fmt.Sprintf("the script ran for %s without waiting and was stopped (the worker may be overloaded, or the script computes too much in one step); break the work into smaller steps or child flows",
			st.wall.Round(10*time.Millisecond)))
	case errors.As(err, &big):
		return end(fmt.Sprintf("the script sent %d bytes to the worker at once, over the limit of %d: return less, or save large data with system.file(name)", big.n, MaxFrameBytes))
	case outOfMemory(stderr):
		return end(fmt.Sprintf("the script used more than %s of memory (--script-memory-limit) and was stopped; work on smaller pieces of data (pages, child flows), or raise the limit", mib(p.MemoryLimit)))
	}
	why := firstLine(stderr)
	if why == "" {
		why = "it exited: " + r.sb.cmd.ProcessState.String()
	}
	p.mu.Lock()
	if len(p.crashes) >= maxCrashRecords {
		clear(p.crashes)
	}
	p.crashes[job.ExecutionID]++
	n := p.crashes[job.ExecutionID]
	p.mu.Unlock()
	p.Log.Warn("a script sandbox crashed", "execution_id", job.ExecutionID, "flow", job.Name, "crashes", n, "reason", why)
	if n >= 2 {
		return end("the script crashed its sandbox twice (" + why + ") and is not run again; if the script looks right, report this with the script")
	}
	// The first time, the cause may lie outside the script (the machine ran out of
	// memory, somebody killed the process): fail the workflow task, so that Temporal
	// runs it again from its recorded history.
	panic(fmt.Sprintf("the script sandbox of execution %s crashed (%s); the workflow task is retried once", job.ExecutionID, why))
}

func (p *Pool) forget(executionID string) {
	p.mu.Lock()
	delete(p.crashes, executionID)
	p.mu.Unlock()
}

func outOfMemory(stderr string) bool {
	return strings.Contains(stderr, "out of memory") || strings.Contains(stderr, "cannot allocate memory")
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// headWriter keeps the first max bytes written to it: the Go runtime prints the
// reason of a fatal error first.
type headWriter struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (h *headWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *headWriter) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.b)
}

func budget(job scripting.Job) time.Duration {
	if job.Options.CPUBudget > 0 {
		return job.Options.CPUBudget
	}
	return scripting.DefaultCPUBudget
}

// DefaultCachedExecutions is how many executions a worker should keep cached, each with
// a sandbox that may grow to memoryLimit: as many as fit in half the machine's memory,
// between 16 and 128, so that scripts all near their limit at once do not exhaust it.
func DefaultCachedExecutions(memoryLimit int64) int {
	if memoryLimit <= 0 {
		memoryLimit = DefaultMemoryLimit
	}
	total := totalMemory()
	if total <= 0 {
		return 128
	}
	return int(min(max(total/2/memoryLimit, 16), 128))
}
