package engine

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"
)

// Workflow tasks and the history of an execution.
//
// Every call a script makes (a connection, a child flow, a log flush, a setting or file)
// is a local activity. It runs inside the workflow task that started it, and its result
// becomes a marker event of the history when that task completes. A task stays open
// while any local activity runs, so a script that calls quickly piles up results in one
// task, and the worker sends them all in one request. The Temporal server refuses a
// request over 4 MB (gRPC) or a history write over 4 MB (one transaction) and then
// TERMINATES the workflow: ~7,100 small REST results in one task did that, and the
// execution's row stayed RUNNING.
//
// So, from version smallTasksVersion on, a task carries at most taskCalls calls and
// about taskBytes of results: past either, the next call first sleeps 1 ms on a
// workflow timer, which completes the task (the timer fires in a new one). A result
// over inlineBytes does not travel in the task at all: the call returns it Stored, and
// the workflow reads it back by itself, in a task that has room for it (Connect), so
// results of calls running at once cannot add up past taskBytes + MaxParallel *
// inlineBytes (~2 MB) either.
//
// Measured with the embedded server (e2e TestManyConnects, TestLargeResults): a small
// REST GET's marker is ~910 bytes (its inputs and outputs with headers), so 20,000
// calls make 20 tasks of at most 0.91 MB and an 18 MB history; 4 KB bodies make tasks
// of ~1.1 MB, and 500 KB bodies, 20 at once, tasks of ~1.0 MB. 4 MB is the hard
// limit, and a task's completion carries more than its markers, hence 1 MB. Each extra
// task costs one timer: with Temporal's default history.timerProcessorMaxTimeShift
// (1 s) a 1 ms timer fires after 0.2-0.8 s, with 10 ms after ~20 ms. Larger tasks
// would save a few timers per 20,000 calls and come closer to 4 MB.
//
// The history as a whole is bounded too: Temporal terminates an execution past 51,200
// events or 50 MB. checkHistory refuses new calls well before either, with a message
// that says to split the work into child flows, so the script ends ENDED_ERROR instead.
const (
	// changeSmallTasks gates all of this: histories recorded before it replay as they ran.
	changeSmallTasks  = "flowd.small-tasks"
	smallTasksVersion = workflow.Version(1)

	taskCalls = 1000
	taskBytes = 1 << 20
	// inlineBytes bounds a connection result that travels in the task; bigger ones are
	// read back from the store by a second call in a task of their own. With 20 calls
	// at once, 20 results of this size still fit in taskBytes.
	maxInlineBytes = 48 << 10
	minInlineBytes = 2 << 10
	// markerBytes is about what a marker event adds to the history besides its result.
	markerBytes = 300

	// Temporal's hard limits for one execution's history (the server's defaults).
	temporalMaxEvents = 51200
	temporalMaxBytes  = 50 << 20
	// DefaultMaxHistoryBytes keeps an execution well under Temporal's 50 MB: past it,
	// starting another call is an error that says to split the work into child flows.
	DefaultMaxHistoryBytes = 40 << 20
)

// taskBudget counts what the current workflow task carries and whether the history is
// at its limit. Everything in it is derived from recorded values only (the history's
// length and size at the task's start, the results' recorded bytes), so a replay
// counts the same and takes the same turns.
type taskBudget struct {
	resolved bool
	version  workflow.Version
	started  int // the history's length when the current task started
	calls    int
	bytes    int
	full     error // once the history is at its limit, every later call fails with this
	dropped  int   // log lines dropped past the limit
	notice   int64 // the seq of the line that says so
}

// smallTasks reports whether this execution keeps its workflow tasks small; an
// execution that started before that change replays without it.
func (h *flowHost) smallTasks() bool {
	if !h.tasks.resolved {
		h.tasks.version = workflow.GetVersion(h.ctx, changeSmallTasks, workflow.DefaultVersion, smallTasksVersion)
		h.tasks.resolved = true
	}
	return h.tasks.version >= smallTasksVersion
}

// syncTask starts counting afresh when a new workflow task has begun.
func (h *flowHost) syncTask() {
	if n := workflow.GetInfo(h.ctx).GetCurrentHistoryLength(); n != h.tasks.started {
		h.tasks.started, h.tasks.calls, h.tasks.bytes = n, 0, 0
	}
}

// room makes sure the current task can take one more call whose result is about next
// bytes: when it carries enough already, it ends the task first. It counts the call.
func (h *flowHost) room(ctx workflow.Context, next int) {
	if !h.smallTasks() {
		return
	}
	h.syncTask()
	if h.tasks.calls > 0 && (h.tasks.calls >= taskCalls || h.tasks.bytes+next > taskBytes) {
		// A 1 ms timer completes this task once its running calls have ended; the
		// script goes on in the task that the timer starts.
		_ = workflow.Sleep(ctx, time.Millisecond)
		h.unsent = false
		h.tasks.started, h.tasks.calls, h.tasks.bytes = workflow.GetInfo(h.ctx).GetCurrentHistoryLength(), 0, 0
	}
	h.tasks.calls++
}

// spent counts the recorded bytes of a result that arrived in the current task.
func (h *flowHost) spent(bytes int) {
	if !h.smallTasks() {
		return
	}
	h.syncTask()
	h.tasks.bytes += bytes
}

// inlineBytes is the largest connection result that travels in the workflow task:
// as many as run at once must fit in one task with room to spare.
func (h *flowHost) inlineBytes() int {
	limit := h.in.MaxParallel
	if limit <= 0 {
		limit = DefaultMaxParallel
	}
	return min(maxInlineBytes, max(minInlineBytes, taskBytes/limit))
}

// historyLimits are the events and bytes past which calls are refused. A configured
// limit above what Temporal allows would let Temporal terminate the execution: it is
// capped.
func (h *flowHost) historyLimits() (events, bytes int) {
	events = h.in.MaxHistory
	if events <= 0 {
		events = DefaultMaxHistory
	}
	return min(events, temporalMaxEvents-1200), DefaultMaxHistoryBytes
}

// historyNow is the history's length and size including what the current task
// carries and has not recorded yet.
func (h *flowHost) historyNow() (events, bytes int) {
	h.syncTask()
	info := workflow.GetInfo(h.ctx)
	return info.GetCurrentHistoryLength() + h.tasks.calls, info.GetCurrentHistorySize() + h.tasks.bytes + h.tasks.calls*markerBytes
}

// checkChildren refuses to start a child in a history that is close to Temporal's
// limits.
func (h *flowHost) checkChildren() error {
	if !h.smallTasks() {
		// As executions recorded before the small tasks replay: the length at the
		// task's start only.
		maxEvents, _ := h.historyLimits()
		if n := workflow.GetInfo(h.ctx).GetCurrentHistoryLength(); n >= maxEvents {
			return inputError(fmt.Sprintf("this execution has recorded %d events, close to Temporal's history limit: do the work in batches in child flows (this.flow), each with fewer calls", n))
		}
		return nil
	}
	return h.checkHistory()
}

// checkHistory refuses to grow a history that is close to Temporal's limits. Once it
// has refused, it refuses every later call too: a script that catches the error
// cannot go on growing the history until Temporal terminates the execution.
func (h *flowHost) checkHistory() error {
	if h.tasks.full != nil || !h.smallTasks() {
		return h.tasks.full
	}
	maxEvents, maxBytes := h.historyLimits()
	events, bytes := h.historyNow()
	switch {
	case events >= maxEvents:
		h.tasks.full = inputError(fmt.Sprintf(
			"this execution's history has %d events, at flowd's limit of %d (Temporal stops an execution at %d): "+
				"do the work in batches in child flows (this.flow), each with at most a few thousand calls; see docs/history.md",
			events, maxEvents, temporalMaxEvents))
	case bytes >= maxBytes:
		h.tasks.full = inputError(fmt.Sprintf(
			"this execution's history holds %.1f MB, at flowd's limit of %d MB (Temporal stops an execution at %d MB): "+
				"do the work in batches in child flows (this.flow), and store large responses in files (the dst input) instead of passing them to the flow; see docs/history.md",
			float64(bytes)/(1<<20), maxBytes>>20, temporalMaxBytes>>20))
	}
	return h.tasks.full
}

// logsFull reports whether the buffered log lines are to be flushed now. Past the
// history's limit (with a reserve above the limit for calls, so that the lines that
// explain a refused call are kept) lines are dropped instead and one line says how
// many: flushing them would grow the history until Temporal terminates the execution.
func (h *flowHost) logsFull() bool {
	if len(h.logs) < logFlushLines && h.logBytes < logFlushBytes {
		return false
	}
	if !h.smallTasks() {
		return true
	}
	maxEvents, maxBytes := h.historyLimits()
	events, bytes := h.historyNow()
	if events < maxEvents+(temporalMaxEvents-maxEvents)/2 && bytes < maxBytes+(temporalMaxBytes-maxBytes)/2 {
		return true
	}
	for _, l := range h.logs {
		if l.Seq != h.tasks.notice {
			h.tasks.dropped++
		}
	}
	h.logSeq++
	h.tasks.notice = h.logSeq
	h.logs = []LogLine{{ExecutionID: h.in.ExecutionID, Seq: h.logSeq, TS: h.now, Level: "error", Message: fmt.Sprintf(
		"%d log lines were dropped: this execution's history is at its limit (%d events, %.1f MB); log less, or split the work into child flows (see docs/history.md)",
		h.tasks.dropped, events, float64(bytes)/(1<<20))}}
	h.logBytes = 0
	return false
}

// flushLogs records the buffered log lines now, in a task that has room for them.
func (h *flowHost) flushLogs() {
	logs := h.takeLogs()
	h.room(h.ctx, 0)
	_ = workflow.ExecuteLocalActivity(h.ctx, activityFlushLog, logs).Get(h.ctx, nil)
}

// connectResult waits for a connection's result. A large one did not travel in the
// workflow task (see inlineBytes): it is read back from the store by a second call,
// in a task that has room for it.
func (h *flowHost) connectResult(ctx workflow.Context, fut workflow.Future, childID string) (ConnectResult, error) {
	var raw json.RawMessage
	if err := fut.Get(ctx, &raw); err != nil {
		return ConnectResult{}, err
	}
	h.spent(len(raw))
	var res ConnectResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return ConnectResult{}, err
	}
	if !res.Stored {
		return res, nil
	}
	if err := h.checkHistory(); err != nil {
		// Reading it back would take the history past Temporal's limit.
		return ConnectResult{}, err
	}
	h.room(ctx, res.Size)
	raw = nil
	if err := workflow.ExecuteLocalActivity(ctx, activityConnect, ConnectInput{ChildID: childID, Fetch: true}).Get(ctx, &raw); err != nil {
		return ConnectResult{}, err
	}
	h.spent(len(raw))
	var full ConnectResult
	if err := json.Unmarshal(raw, &full); err != nil {
		return ConnectResult{}, err
	}
	// The first result's times stay: they were recorded, the stored ones are rounded
	// by the database.
	res.Inputs, res.Outputs, res.Stored = full.Inputs, full.Outputs, false
	return res, nil
}
