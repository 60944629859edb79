package embedded

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.uber.org/zap/zapcore"
)

// NewLogger returns a Temporal server logger that writes to h, so that the embedded
// server shares flowd's log stream, format and level. The server's own messages come
// out one level quieter than it logs them (its info is flowd's debug, its error
// flowd's warning): a normal start says nothing at flowd's default level, and a real
// problem still shows. Every message has component=temporal-server, or
// temporal-server/<part> when the server names its part. stopping, when set, marks
// the server as shutting down (nil: never).
func NewLogger(h slog.Handler, stopping *atomic.Bool) tlog.Logger {
	if stopping == nil {
		stopping = new(atomic.Bool)
	}
	return &serverLogger{h: &quieter{next: h, stopping: stopping}, tags: []tag.Tag{tag.NewStringTag(componentKey, component)}}
}

const (
	componentKey = "component"
	component    = "temporal-server"
)

// serverLogger is Temporal's log.Logger over a slog handler.
type serverLogger struct {
	h slog.Handler
	// tags are those of With: a key given again replaces the earlier value, as in
	// Temporal's own logger (slog would write the key twice).
	tags []tag.Tag
}

var (
	_ tlog.WithLogger  = (*serverLogger)(nil)
	_ tlog.SkipLogger  = (*serverLogger)(nil)
	_ tlog.SLogWrapper = (*serverLogger)(nil)
)

// levelFatal is above slog's error, so that what stops the server (DPanic, Panic,
// Fatal) stays an error once made quieter.
const levelFatal = slog.LevelError + 4

func (l *serverLogger) Debug(msg string, tags ...tag.Tag) { l.log(slog.LevelDebug, msg, tags) }
func (l *serverLogger) Info(msg string, tags ...tag.Tag)  { l.log(slog.LevelInfo, msg, tags) }
func (l *serverLogger) Warn(msg string, tags ...tag.Tag)  { l.log(slog.LevelWarn, msg, tags) }
func (l *serverLogger) Error(msg string, tags ...tag.Tag) { l.log(slog.LevelError, msg, tags) }

// DPanic logs an error; zap panics on it only in development mode, which the server
// never runs in here.
func (l *serverLogger) DPanic(msg string, tags ...tag.Tag) { l.log(levelFatal, msg, tags) }

// Panic logs an error and panics, as the server expects of it.
func (l *serverLogger) Panic(msg string, tags ...tag.Tag) {
	l.log(levelFatal, msg, tags)
	panic(msg)
}

// Fatal logs an error and ends the process, as the server expects of it.
func (l *serverLogger) Fatal(msg string, tags ...tag.Tag) {
	l.log(levelFatal, msg, tags)
	os.Exit(1)
}

// With returns a logger that adds tags to every message.
func (l *serverLogger) With(tags ...tag.Tag) tlog.Logger {
	return &serverLogger{h: l.h, tags: merge(l.tags, tags)}
}

// Skip is for loggers that record the caller's line; this one does not.
func (l *serverLogger) Skip(int) tlog.Logger { return l }

// SLog is the same stream for the parts of the server that log with slog.
func (l *serverLogger) SLog() *slog.Logger { return slog.New(l.h.WithAttrs(attrs(nil, l.tags))) }

func (l *serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !l.h.Enabled(ctx, level) {
		return // before converting the tags: the server logs much at debug
	}
	r := slog.NewRecord(time.Now(), level, msg, 0)
	r.AddAttrs(attrs(nil, merge(l.tags, tags))...)
	_ = l.h.Handle(ctx, r)
}

// merge returns tags with more added; a key already in tags takes the new value.
func merge(tags, more []tag.Tag) []tag.Tag {
	out := slices.Clone(tags)
	for _, t := range more {
		if t.Key() == componentKey {
			t = tag.NewStringTag(componentKey, component+"/"+fmt.Sprint(t.Value()))
		}
		if i := slices.IndexFunc(out, func(o tag.Tag) bool { return o.Key() == t.Key() }); i >= 0 {
			out[i] = t
		} else {
			out = append(out, t)
		}
	}
	return out
}

// attrs appends tags to out as slog attributes.
func attrs(out []slog.Attr, tags []tag.Tag) []slog.Attr {
	for _, t := range tags {
		zt, ok := t.(tag.ZapTag)
		if !ok {
			out = append(out, slog.Any(t.Key(), t.Value()))
			continue
		}
		f := zt.Field()
		switch f.Type {
		case zapcore.SkipType:
		case zapcore.StringType:
			out = append(out, slog.String(f.Key, f.String))
		case zapcore.Int64Type, zapcore.Int32Type, zapcore.Int16Type, zapcore.Int8Type:
			out = append(out, slog.Int64(f.Key, f.Integer))
		case zapcore.BoolType:
			out = append(out, slog.Bool(f.Key, f.Integer == 1))
		case zapcore.DurationType:
			out = append(out, slog.Duration(f.Key, time.Duration(f.Integer)))
		case zapcore.ErrorType:
			out = append(out, slog.Any(f.Key, f.Interface))
		default:
			// Everything else as zap itself would encode it; one field may give more
			// than one key.
			enc := zapcore.NewMapObjectEncoder()
			f.AddTo(enc)
			for _, k := range slices.Sorted(maps.Keys(enc.Fields)) {
				out = append(out, slog.Any(k, enc.Fields[k]))
			}
		}
	}
	return out
}

// quieter makes the server's messages one level quieter and demotes what is expected
// to debug.
type quieter struct {
	next     slog.Handler
	stopping *atomic.Bool
}

func quieterLevel(l slog.Level) slog.Level { return l - 4 }

func (q *quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return q.next.Enabled(ctx, quieterLevel(l))
}

func (q *quieter) Handle(ctx context.Context, r slog.Record) error {
	r.Level = quieterLevel(r.Level)
	if r.Level > slog.LevelDebug && q.expected(r) {
		r.Level = slog.LevelDebug
		if !q.next.Enabled(ctx, r.Level) {
			return nil
		}
	}
	return q.next.Handle(ctx, r)
}

func (q *quieter) WithAttrs(as []slog.Attr) slog.Handler {
	return &quieter{next: q.next.WithAttrs(as), stopping: q.stopping}
}

func (q *quieter) WithGroup(name string) slog.Handler {
	return &quieter{next: q.next.WithGroup(name), stopping: q.stopping}
}

// expected reports whether r is noise of a normal start or stop: the server warns of
// what its own stop, or flowd's, causes. Matched narrowly, by message or error text.
func (q *quieter) expected(r slog.Record) bool {
	switch {
	case anyAttrContains(r, context.Canceled.Error()):
		// A call whose caller went away (flowd's client closing, the server itself
		// stopping) failed with the caller's context. The server logs that under
		// many messages ("Unable to call matching.PollWorkflowTaskQueue.", "service
		// failures", "Operation failed with internal error."); nothing is wrong.
		// A deadline that passed says "context deadline exceeded" and stays.
		return true
	case r.Message == "Failed to poll for task.", r.Message == "network dial error":
		// While the server stops, its internal workers (its SDK clients) poll its
		// frontend, which closes their streams ("graceful_stop") or has already
		// stopped ("connection refused"), and its services dial others that have
		// stopped. At any other time these stay.
		return q.stopping.Load()
	}
	return false
}

// anyAttrContains reports whether the text of one of r's attributes contains s.
func anyAttrContains(r slog.Record, s string) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		v := a.Value.Resolve()
		var text string
		switch x := v.Any().(type) {
		case error:
			text = x.Error()
		case string:
			text = x
		default:
			text = v.String()
		}
		found = strings.Contains(text, s)
		return !found
	})
	return found
}
