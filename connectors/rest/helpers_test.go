package rest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mccutchen/go-httpbin/v2/httpbin"

	"github.com/flowd/flowd/connectors/rest"
)

// MustHTTPBin starts an in-process httpbin on 127.0.0.1 and returns its base URL.
func MustHTTPBin(tb testing.TB) string {
	tb.Helper()
	srv := httptest.NewServer(httpbin.New().Handler())
	tb.Cleanup(srv.Close)
	return srv.URL
}

// MustServer starts h on 127.0.0.1 and returns its base URL.
func MustServer(tb testing.TB, h http.HandlerFunc) string {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL
}

// MustCall runs a call that must succeed and returns its outputs.
func MustCall(tb testing.TB, c *rest.Connector, in map[string]any) map[string]any {
	tb.Helper()
	out, err := c.Call(context.Background(), in)
	if err != nil {
		tb.Fatalf("Call(%v): %v", in, err)
	}
	if out["status"] != "success" {
		tb.Fatalf("status = %v, want success", out["status"])
	}
	return out
}

// CallErr runs a call that must fail and returns its outputs and error.
func CallErr(tb testing.TB, c *rest.Connector, in map[string]any) (map[string]any, error) {
	tb.Helper()
	out, err := c.Call(context.Background(), in)
	if err == nil {
		tb.Fatalf("Call(%v) succeeded, want an error; outputs %v", in, out)
	}
	if out["status"] != "error" || out["message"] != err.Error() {
		tb.Fatalf("status, message = %v, %v; want error, %v", out["status"], out["message"], err)
	}
	return out, err
}

// WantInputError fails unless err is an *InputError whose message contains all of parts.
func WantInputError(tb testing.TB, err error, parts ...string) {
	tb.Helper()
	var ie *rest.InputError
	if !errors.As(err, &ie) {
		tb.Fatalf("err = %T %v, want *rest.InputError", err, err)
	}
	WantContains(tb, err.Error(), parts...)
}

// WantContains fails unless s contains all of parts.
func WantContains(tb testing.TB, s string, parts ...string) {
	tb.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			tb.Errorf("%q does not contain %q", s, p)
		}
	}
}

// JSONOut returns the json output as an object.
func JSONOut(tb testing.TB, out map[string]any) map[string]any {
	tb.Helper()
	m, ok := out["json"].(map[string]any)
	if !ok {
		tb.Fatalf("json output = %T %v, want an object; outputs %v", out["json"], out["json"], out)
	}
	return m
}

// memFiles is a FileStore in memory.
type memFiles struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (m *memFiles) ReadFile(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[name]
	if !ok {
		return nil, errors.New("file not found")
	}
	return b, nil
}

func (m *memFiles) WriteFile(_ context.Context, name string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files == nil {
		m.files = map[string][]byte{}
	}
	m.files[name] = data
	return nil
}

// fast returns a Connector whose retry_backoff seconds last 10 ms.
func fast() *rest.Connector {
	c := &rest.Connector{}
	rest.SetDelayUnit(c, 10*time.Millisecond)
	return c
}
