package app

import (
	"context"
	"log/slog"
	"strings"

	tlog "go.temporal.io/sdk/log"
)

// sdkLogger is the Temporal SDK client's logger: flowd's own handler (format and
// level), with component=temporal-sdk and the noise of a normal stop demoted to debug.
func sdkLogger(log *slog.Logger) tlog.Logger {
	return tlog.NewStructuredLogger(slog.New(sdkNoise{log.Handler()}).With("component", "temporal-sdk"))
}

// sdkNoise demotes to debug what the SDK warns of when flowd itself stops its worker.
type sdkNoise struct{ next slog.Handler }

func (h sdkNoise) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h sdkNoise) Handle(ctx context.Context, r slog.Record) error {
	if r.Level > slog.LevelDebug && expectedSDK(r) {
		r.Level = slog.LevelDebug
		if !h.next.Enabled(ctx, r.Level) {
			return nil
		}
	}
	return h.next.Handle(ctx, r)
}

func (h sdkNoise) WithAttrs(as []slog.Attr) slog.Handler { return sdkNoise{h.next.WithAttrs(as)} }
func (h sdkNoise) WithGroup(name string) slog.Handler    { return sdkNoise{h.next.WithGroup(name)} }

// expectedSDK reports whether r is noise of flowd's own stop: the SDK cancels the
// context of its calls (polls, worker heartbeats) when flowd stops its worker or closes
// the client, and may then warn that they failed ("Failed to poll for task.", "Failed
// to send heartbeat"). Only the SDK cancels these contexts, so the error text
// "context canceled" marks them; anything else stays a warning.
func expectedSDK(r slog.Record) bool {
	canceled := false
	r.Attrs(func(a slog.Attr) bool {
		if err, ok := a.Value.Any().(error); ok {
			canceled = strings.Contains(err.Error(), context.Canceled.Error())
		}
		return !canceled
	})
	return canceled
}
