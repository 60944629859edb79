package rest_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowd/flowd/connectors/rest"
)

func TestExpectedStatus(t *testing.T) {
	base := MustHTTPBin(t)
	tests := []struct {
		name     string
		path     string
		expected any
		wantErr  string // "" means success
	}{
		{"DefaultOK", "/status/204", nil, ""},
		{"Default404", "/status/404", nil, "answered 404 Not Found, expected one of 200, 201, 202, 204; check the url and path, or add 404 to expected_status_code"},
		{"Default401", "/status/401", nil, "check the credentials"},
		{"Number", "/status/404", 404.0, ""},
		{"List", "/status/418", []any{200.0, 418.0}, ""},
		{"ListMiss", "/status/200", []any{201.0}, "expected 201"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := map[string]any{"url": base + tt.path, "expected_status_code": tt.expected}
			if tt.wantErr == "" {
				MustCall(t, &rest.Connector{}, in)
				return
			}
			out, err := CallErr(t, &rest.Connector{}, in)
			var se *rest.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("err = %T %v, want *StatusError", err, err)
			}
			WantContains(t, err.Error(), tt.wantErr)
			if out["status_code"] != se.StatusCode {
				t.Errorf("status_code output = %v, want %d", out["status_code"], se.StatusCode)
			}
		})
	}
}

// flaky answers the statuses in order, then 200.
func flaky(tb testing.TB, statuses ...int) (string, *atomic.Int32) {
	var n atomic.Int32
	url := MustServer(tb, func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(statuses) {
			w.WriteHeader(statuses[i])
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	})
	return url, &n
}

func TestRetry(t *testing.T) {
	tests := []struct {
		name      string
		statuses  []int
		in        map[string]any
		wantTries int32
		wantErr   string
		wantLog   []string
	}{
		{"DefaultStatuses", []int{503, 502, 504}, nil, 4, "", []string{"try 1", "answered 503; retrying in 1s", "retrying in 2s", "retrying in 4s", "try 4"}},
		{"CustomStatus", []int{429}, map[string]any{"retry_status_code": []any{429.0}}, 2, "", []string{"answered 429; retrying in 1s"}},
		{"NotRetried", []int{500}, nil, 1, "answered 500", nil},
		{"Maximum", []int{503, 503, 503}, map[string]any{"retry_backoff": map[string]any{"initial": 2.0, "multiplier": 3.0, "maximum": 5.0}}, 4, "", []string{"retrying in 2s", "retrying in 5s"}},
		{"ClampedToOneSecond", []int{503}, map[string]any{"retry_backoff": map[string]any{"initial": 0.0001}}, 2, "", []string{"retrying in 1s"}},
		{"Deadline", []int{503, 503, 503, 503}, map[string]any{"retry_backoff": map[string]any{"deadline": 3.5}}, 3, "after 3 tries", []string{"retrying in 2s", "would pass retry_backoff.deadline (3.5s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, n := flaky(t, tt.statuses...)
			in := map[string]any{"url": url}
			for k, v := range tt.in {
				in[k] = v
			}
			c := fast()
			out, err := c.Call(context.Background(), in)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if got := n.Load(); got != tt.wantTries {
				t.Errorf("server got %d requests, want %d", got, tt.wantTries)
			}
			log := logText(t, out)
			WantContains(t, log, tt.wantLog...)
		})
	}
}

// logText joins the messages of the log output.
func logText(tb testing.TB, out map[string]any) string {
	tb.Helper()
	var b strings.Builder
	for _, e := range out["log"].([]any) {
		b.WriteString(e.(map[string]any)["message"].(string))
		b.WriteString("\n")
	}
	return b.String()
}

func TestRetryRealSecond(t *testing.T) {
	// Without the test knob the delay between tries is at least one real second.
	url, n := flaky(t, 503)
	start := time.Now()
	MustCall(t, &rest.Connector{}, map[string]any{"url": url, "retry_backoff": map[string]any{"initial": 0.0}})
	if took := time.Since(start); took < time.Second || took > 30*time.Second {
		t.Errorf("took %s, want about a second", took)
	}
	if n.Load() != 2 {
		t.Errorf("tries = %d, want 2", n.Load())
	}
}

func TestRetryConnectionError(t *testing.T) {
	// A port nobody listens on: reserve one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	out, err := fast().Call(context.Background(), map[string]any{"url": "http://" + addr + "/x", "retry_backoff": map[string]any{"deadline": 2.5}})
	if err == nil {
		t.Fatal("want an error")
	}
	WantContains(t, err.Error(), "tried 2 times", "check that the host is reachable")
	WantContains(t, logText(t, out), "try 1", "failed", "retrying in 1s", "try 2")
}

func TestRetryCancelWhileWaiting(t *testing.T) {
	url, _ := flaky(t, 503, 503)
	ctx, cancel := context.WithCancel(context.Background())
	c := &rest.Connector{HTTPTransport: cancelAfterResponse{cancel}}
	done := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, map[string]any{"url": url, "retry_backoff": map[string]any{"initial": 300.0}})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Call did not return after cancellation")
	}
}

// cancelAfterResponse cancels the call once the first response arrived.
type cancelAfterResponse struct{ cancel context.CancelFunc }

func (c cancelAfterResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	c.cancel()
	return resp, err
}

func TestTimeouts(t *testing.T) {
	// hang never answers until the client gives up.
	hang := MustServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	// trickle sends headers and a first byte, then stalls.
	trickle := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("a"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	blackhole := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	tests := []struct {
		name string
		c    *rest.Connector
		in   map[string]any
		want string
	}{
		{"ReadHeaders", fast(), map[string]any{"url": hang, "read_timeout": 0.05}, "read_timeout exceeded: no data for 50ms"},
		{"ReadBody", fast(), map[string]any{"url": trickle, "read_timeout": 0.05}, "read_timeout exceeded"},
		{"Total", fast(), map[string]any{"url": hang, "total_timeout": 0.05}, "total_timeout exceeded: no complete answer within 50ms"},
		{"Connect", &rest.Connector{HTTPTransport: blackhole}, map[string]any{"url": "http://192.0.2.1/", "connect_timeout": 0.05}, "connect_timeout exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rest.SetDelayUnit(tt.c, 10*time.Millisecond)
			// 20 units of 10 ms: room for a retry or two after 50 ms tries.
			tt.in["retry_backoff"] = map[string]any{"deadline": 20.0}
			out, err := CallErr(t, tt.c, tt.in)
			WantContains(t, err.Error(), tt.want, "times over")
			if n := len(out["log"].([]any)); n < 2 {
				t.Errorf("log has %d entries, want at least 2 (timeouts are retried)", n)
			}
		})
	}
}

func TestTimeoutZeroDisables(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	MustCall(t, &rest.Connector{}, map[string]any{"url": srv.URL, "read_timeout": 0.0, "total_timeout": nil, "connect_timeout": 0.0})
}

func TestRetryAfter(t *testing.T) {
	var n atomic.Int32
	url := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	out := MustCall(t, fast(), map[string]any{"url": url})
	WantContains(t, logText(t, out), "answered 503; retrying in 3s")
}

func TestCustomTransport(t *testing.T) {
	base := MustHTTPBin(t)
	c := &rest.Connector{HTTPTransport: cancelAfterResponse{cancel: func() {}}}
	MustCall(t, c, map[string]any{"url": base + "/get"})
	_, err := CallErr(t, c, map[string]any{"url": base + "/get", "verify_ssl": false})
	WantInputError(t, err, "cannot be applied by this flowd server's HTTP transport")
}
