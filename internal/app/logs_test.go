package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/flowd/flowd/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.IsChild() {
		sandbox.ServeChild() // this test binary started as a script sandbox
	}
	os.Exit(m.Run())
}

// records is a slog handler that keeps every record at debug and above as text.
type records struct {
	mu    *sync.Mutex
	list  *[]record
	attrs []slog.Attr
}

type record struct {
	level slog.Level
	text  string
}

func newRecords() *records { return &records{mu: new(sync.Mutex), list: new([]record)} }

func (h *records) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelDebug }

func (h *records) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q", r.Level, r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s", a)
	}
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s", a); return true })
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.list = append(*h.list, record{r.Level, b.String()})
	return nil
}

func (h *records) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *records) WithGroup(string) slog.Handler { return h }

func (h *records) all() []record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]record(nil), *h.list...)
}

// TestStartStopLogsNoWarning starts flowd with the embedded Temporal server on a new
// data directory and stops it: the server and the Temporal SDK write through flowd's
// handler, nothing of a normal first start and stop is a warning, and the server
// says nothing at flowd's default level.
func TestStartStopLogsNoWarning(t *testing.T) {
	h := newRecords()
	on := true
	a, err := Start(context.Background(), Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), Log: slog.New(h),
		// Set, so that flowd's own first-start advice (generated key, private
		// networks reachable) is not counted.
		SecretKey: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", BlockPrivateNetworks: &on,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.Stop()
	seen := map[string]bool{}
	for _, r := range h.all() {
		for _, c := range []string{"component=temporal-server", "component=temporal-sdk"} {
			seen[c] = seen[c] || strings.Contains(r.text, c)
		}
		// The server's own messages come one level quieter: at info, it warned.
		if r.level >= slog.LevelWarn || r.level >= slog.LevelInfo && strings.Contains(r.text, "component=temporal-server") {
			t.Errorf("a normal start and stop logged: %s", r.text)
		}
	}
	for c, ok := range seen {
		if !ok {
			t.Errorf("no record with %s: the handler does not receive its log", c)
		}
	}
}

func TestSDKLoggerDemotions(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want slog.Level
	}{
		{"HeartbeatCanceled", errors.New("context canceled"), slog.LevelDebug},
		{"HeartbeatFailed", errors.New("connection refused"), slog.LevelWarn},
		{"PollCanceled", errors.New("context canceled"), slog.LevelDebug},
		{"PollUnavailable", errors.New("rpc error: code = Unavailable desc = connection refused"), slog.LevelWarn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newRecords()
			msg := "Failed to send heartbeat"
			if strings.HasPrefix(tc.name, "Poll") {
				msg = "Failed to poll for task."
			}
			sdkLogger(slog.New(h)).Warn(msg, "Error", tc.err)
			got := h.all()
			if len(got) != 1 || got[0].level != tc.want || !strings.Contains(got[0].text, "component=temporal-sdk") {
				t.Errorf("got %v, want one %s record with component=temporal-sdk", got, tc.want)
			}
		})
	}
}
