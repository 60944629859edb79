package engine

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/flowd/flowd/secrets"
)

// liveTriesEvery is the least time between two writes of a running connection's
// tries, except the write after a try that will be retried, which goes at once
// so that clients show the wait for the next try while it lasts.
const liveTriesEvery = 250 * time.Millisecond

// liveTries writes the tries of a running connector call into its CONNECTION
// row's outputs ({"log": [...]}, the entries the final outputs' log starts
// with, redacted as they are), so that clients see each try as it happens. The
// writes show progress only: the final outputs, written once the call ended
// and stop returned, replace them, and the store never applies them to an
// ended row. Each write holds the whole log of this run of the activity, so a
// run after a worker crash replaces the earlier run's tries instead of adding
// to them.
type liveTries struct {
	ctx   context.Context
	store Store
	id    string
	red   *secrets.Redactor
	log   *slog.Logger

	mu      sync.Mutex // held while writing: stop waits for a write under way
	pending json.RawMessage
	timer   *time.Timer
	stopped bool
}

func (a *Activities) liveTries(ctx context.Context, id string, red *secrets.Redactor) *liveTries {
	log := a.Log
	if log == nil {
		log = slog.Default()
	}
	return &liveTries{ctx: ctx, store: a.Store, id: id, red: red, log: log}
}

// report is the connector's OnTry. A try that will be retried is written at
// once; other tries are written liveTriesEvery later, together with any that
// follow in the meantime, so that a call that ends at its first try (the usual
// case) costs no write: stop cancels it.
func (l *liveTries) report(log []any, retrying bool) {
	raw, err := json.Marshal(l.red.Map(map[string]any{"log": log}))
	if err != nil {
		return // the final outputs will say it
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.pending = raw
	if retrying {
		l.flushLocked()
		return
	}
	if l.timer == nil {
		l.timer = time.AfterFunc(liveTriesEvery, l.flush)
	}
}

func (l *liveTries) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.stopped {
		l.flushLocked()
	}
}

func (l *liveTries) flushLocked() {
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	if l.pending == nil {
		return
	}
	raw := l.pending
	l.pending = nil
	err := l.store.Record(l.ctx, Progress{Updates: []ExecutionUpdate{{ID: l.id, Outputs: raw}}})
	if err != nil && l.ctx.Err() == nil {
		// Only the live view misses it: the final outputs hold every try.
		l.log.Warn("could not record a running connection's tries", "execution_id", l.id, "error", err)
	}
}

// stop ends the writes: once it returns none is under way and none begins, so
// the final outputs written after it are the last.
func (l *liveTries) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}
