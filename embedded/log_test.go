package embedded_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"

	"github.com/flowd/flowd/embedded"
)

// mustLogger returns a server logger that writes JSON at level into the returned
// buffer, and the flag that marks the server as stopping.
func mustLogger(tb testing.TB, level slog.Level) (tlog.Logger, *bytes.Buffer, *atomic.Bool) {
	tb.Helper()
	var buf bytes.Buffer
	stopping := new(atomic.Bool)
	return embedded.NewLogger(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}), stopping), &buf, stopping
}

// lines decodes what the logger wrote, failing unless every line is one JSON object.
func lines(tb testing.TB, buf *bytes.Buffer) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			tb.Fatalf("not one JSON object per line: %v\n%s", err, l)
		}
		out = append(out, m)
	}
	return out
}

// levelOf logs one message with f and returns the level written, or "" for none.
func levelOf(t *testing.T, level slog.Level, stop bool, f func(tlog.Logger)) string {
	t.Helper()
	l, buf, stopping := mustLogger(t, level)
	stopping.Store(stop)
	f(l)
	got := lines(t, buf)
	switch len(got) {
	case 0:
		return ""
	case 1:
		return got[0]["level"].(string)
	}
	t.Fatalf("%d lines, want at most 1: %v", len(got), got)
	return ""
}

func TestLoggerLevels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		level slog.Level // flowd's --log-level
		log   func(tlog.Logger)
		want  string
	}{
		{"DebugHidden", slog.LevelDebug, func(l tlog.Logger) { l.Debug("m") }, ""},
		{"InfoIsDebug", slog.LevelDebug, func(l tlog.Logger) { l.Info("m") }, "DEBUG"},
		{"WarnIsInfo", slog.LevelDebug, func(l tlog.Logger) { l.Warn("m") }, "INFO"},
		{"ErrorIsWarn", slog.LevelDebug, func(l tlog.Logger) { l.Error("m") }, "WARN"},
		{"DPanicIsError", slog.LevelDebug, func(l tlog.Logger) { l.DPanic("m") }, "ERROR"},
		{"InfoQuietAtInfo", slog.LevelInfo, func(l tlog.Logger) { l.Info("m") }, ""},
		{"WarnQuietAtWarn", slog.LevelWarn, func(l tlog.Logger) { l.Warn("m") }, ""},
		{"ErrorShownAtWarn", slog.LevelWarn, func(l tlog.Logger) { l.Error("m") }, "WARN"},
		{"WithKeepsLevels", slog.LevelInfo, func(l tlog.Logger) { tlog.With(l, tag.NewStringTag("k", "v")).Warn("m") }, "INFO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := levelOf(t, tc.level, false, tc.log); got != tc.want {
				t.Errorf("level = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLoggerPanic(t *testing.T) {
	l, buf, _ := mustLogger(t, slog.LevelInfo)
	defer func() {
		if recover() == nil {
			t.Error("Panic did not panic")
		}
		if got := lines(t, buf); len(got) != 1 || got[0]["level"] != "ERROR" {
			t.Errorf("Panic wrote %v, want one ERROR line", got)
		}
	}()
	l.Panic("m")
}

// TestLoggerDemotions checks that the noise of a normal stop, and only it, is debug.
func TestLoggerDemotions(t *testing.T) {
	gracefulStop := errors.New(`closing transport due to: connection error: desc = "error reading from server: EOF", received prior goaway: code: NO_ERROR, debug data: "graceful_stop"`)
	refused := errors.New("dial tcp 127.0.0.1:7233: connect: connection refused")
	for _, tc := range []struct {
		name     string
		stopping bool
		log      func(tlog.Logger)
		want     string
	}{
		{"PollWhileStopping", true, func(l tlog.Logger) { l.Warn("Failed to poll for task.", tag.Error(gracefulStop)) }, "DEBUG"},
		// The server's internal workers log through the SDK's adapter, with "Error".
		{"PollWhileStoppingSDK", true, func(l tlog.Logger) { tlog.NewSdkLogger(l).Warn("Failed to poll for task.", "Error", refused) }, "DEBUG"},
		{"PollWhileRunning", false, func(l tlog.Logger) { tlog.NewSdkLogger(l).Warn("Failed to poll for task.", "Error", gracefulStop) }, "INFO"},
		{"DialWhileStopping", true, func(l tlog.Logger) { l.Warn("network dial error", tag.Error(refused)) }, "DEBUG"},
		{"DialWhileRunning", false, func(l tlog.Logger) { l.Warn("network dial error", tag.Error(refused)) }, "INFO"},
		{"OperationCanceled", false, func(l tlog.Logger) {
			l.Error("Operation failed with internal error.", tag.Error(errors.New("GetTaskQueue operation failed. Error: context canceled")))
		}, "DEBUG"},
		{"PollCanceled", false, func(l tlog.Logger) {
			l.Error("Unable to call matching.PollWorkflowTaskQueue.", tag.Error(errors.New("context canceled")))
		}, "DEBUG"},
		{"DeadlineStays", false, func(l tlog.Logger) {
			l.Error("Unable to call matching.PollWorkflowTaskQueue.", tag.Error(errors.New("context deadline exceeded")))
		}, "WARN"},
		{"OperationFailed", true, func(l tlog.Logger) {
			l.Error("Operation failed with internal error.", tag.Error(errors.New("database is locked")))
		}, "WARN"},
		{"OtherWarningWhileStopping", true, func(l tlog.Logger) { l.Warn("something else", tag.Error(gracefulStop)) }, "INFO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := levelOf(t, slog.LevelDebug, tc.stopping, tc.log); got != tc.want {
				t.Errorf("level = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLoggerJSON checks that tags become attributes of one JSON object per line, with
// a key given again written once.
func TestLoggerJSON(t *testing.T) {
	l, buf, _ := mustLogger(t, slog.LevelDebug)
	l = tlog.With(l, tag.ComponentShardController, tag.NewStringTag("address", "a"))
	l = tlog.With(l, tag.NewStringTag("address", "b"))
	l.Warn("hello",
		tag.NewStringTag("s", "text"), tag.NewInt64("n", 7), tag.NewBoolTag("b", true),
		tag.NewDurationTag("d", 1500*time.Millisecond), tag.Error(errors.New("boom")),
		tag.NewStringsTag("list", []string{"x", "y"}))
	l.Info("second")
	got := lines(t, buf)
	if len(got) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(got), buf)
	}
	want := map[string]any{
		"level": "INFO", "msg": "hello", "component": "temporal-server/shard-controller", "address": "b",
		"s": "text", "n": 7.0, "b": true, "d": float64(1500 * time.Millisecond), "error": "boom", "list": []any{"x", "y"},
	}
	for k, w := range want {
		if g, _ := json.Marshal(got[0][k]); string(g) != mustJSON(w) {
			t.Errorf("%s = %s, want %s", k, g, mustJSON(w))
		}
	}
	if n := strings.Count(strings.SplitN(buf.String(), "\n", 2)[0], `"address"`); n != 1 {
		t.Errorf("address written %d times, want once:\n%s", n, buf)
	}
	if got[1]["component"] != "temporal-server/shard-controller" {
		t.Errorf("second line's component = %v", got[1]["component"])
	}
}

func TestLoggerComponent(t *testing.T) {
	l, buf, _ := mustLogger(t, slog.LevelDebug)
	l.Error("m")
	if got := lines(t, buf); len(got) != 1 || got[0]["component"] != "temporal-server" {
		t.Errorf("got %v, want one line with component temporal-server", got)
	}
}

// TestLoggerSlog checks the slog logger the server takes for its parts that log with
// slog: the same handler, one level quieter.
func TestLoggerSlog(t *testing.T) {
	l, buf, _ := mustLogger(t, slog.LevelDebug)
	tlog.NewSlogLogger(l).Warn("from slog", "k", "v")
	got := lines(t, buf)
	if len(got) != 1 || got[0]["level"] != "INFO" || got[0]["k"] != "v" || got[0]["component"] != "temporal-server" {
		t.Errorf("got %v, want one INFO line with k=v and component temporal-server", got)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
