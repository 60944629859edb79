package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowd/flowd/connectors/rest"
)

// report is one OnTry call.
type report struct {
	log      []any
	retrying bool
}

// recordTries returns a context whose calls append each OnTry report to *got.
func recordTries(got *[]report) context.Context {
	return rest.WithCallOptions(context.Background(), rest.CallOptions{OnTry: func(log []any, retrying bool) {
		*got = append(*got, report{log, retrying})
	}})
}

// TestOnTry: every finished try is reported with the log so far, before the
// wait for the next one, and the reports are prefixes of the outputs' log.
func TestOnTry(t *testing.T) {
	url, _ := flaky(t, 503, 503)
	var got []report
	out, err := fast().Call(recordTries(&got), map[string]any{"url": url})
	if err != nil {
		t.Fatal(err)
	}
	final := out["log"].([]any)
	if len(got) != 3 {
		t.Fatalf("%d reports, want 3 (one per try): %v", len(got), got)
	}
	for i, r := range got {
		if want := i < 2; r.retrying != want {
			t.Errorf("report %d: retrying = %v, want %v", i+1, r.retrying, want)
		}
		if !reflect.DeepEqual(r.log, final[:i+1]) {
			t.Errorf("report %d: log = %v, want the first %d entries of the outputs' log %v", i+1, r.log, i+1, final)
		}
	}
	last := got[0].log[0].(map[string]any)
	for _, key := range []string{"try", "method", "url", "duration_ms", "status_code", "retry_in_seconds", "message"} {
		if _, ok := last[key]; !ok {
			t.Errorf("entry of a retried try %v has no %s", last, key)
		}
	}
	if _, ok := got[2].log[2].(map[string]any)["retry_in_seconds"]; ok {
		t.Errorf("entry of the last try %v has retry_in_seconds", got[2].log[2])
	}
}

// TestOnTryConnectionError: a try that got no response is reported with its error.
func TestOnTryConnectionError(t *testing.T) {
	var got []report
	_, err := fast().Call(recordTries(&got), map[string]any{"url": "http://" + closedPort(t) + "/x", "retry_backoff": map[string]any{"deadline": 2.5}})
	if err == nil {
		t.Fatal("want an error")
	}
	if len(got) != 2 || !got[0].retrying || got[1].retrying {
		t.Fatalf("reports = %v, want two, the first retrying", got)
	}
	e := got[0].log[0].(map[string]any)
	if msg, _ := e["error"].(string); !strings.Contains(msg, "refused") || e["retry_in_seconds"] != 1.0 {
		t.Errorf("entry = %v, want a refused connection retried in 1 s", e)
	}
}

// TestOnTryTokensRedacted: a token the call obtained is redacted from the
// reported log as from the outputs, even when a try's error holds it.
func TestOnTryTokensRedacted(t *testing.T) {
	const token = "custom-session-token-9876543210"
	srv := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"token": %q}`, token)
	})
	c := &rest.Connector{HTTPTransport: leakyProxy{}}
	rest.SetDelayUnit(c, 10*time.Millisecond)
	var got []report
	out, err := c.Call(recordTries(&got), map[string]any{"url": srv + "/api", "authentication_method": "custom",
		"auth_url": srv + "/login", "token_path": "token", "retry_backoff": map[string]any{"deadline": 2.5}})
	if err == nil {
		t.Fatal("want an error")
	}
	if len(got) == 0 {
		t.Fatal("no report")
	}
	for i, r := range got {
		raw, _ := json.Marshal(r.log)
		if strings.Contains(string(raw), token) || !strings.Contains(string(raw), "[redacted]") {
			t.Errorf("report %d: %s, want the token redacted", i+1, raw)
		}
	}
	if raw, _ := json.Marshal(out); strings.Contains(string(raw), token) {
		t.Errorf("outputs %s hold the token", raw)
	}
}

// leakyProxy fails every request but the login with an error that quotes its
// Authorization header, as a careless proxy might.
type leakyProxy struct{}

func (leakyProxy) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/login" {
		return http.DefaultTransport.RoundTrip(r)
	}
	return nil, errors.New("proxy refused " + r.Header.Get("Authorization"))
}

// closedPort returns the address of a port nobody listens on: one reserved and
// closed again.
func closedPort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestTryErrorHidesAPIKey: a try's error quotes the request's URL without the
// API key sent in its query, as the entry's url shows it.
func TestTryErrorHidesAPIKey(t *testing.T) {
	const key = "api-key-in-query-0123456789"
	var got []report
	out, err := fast().Call(recordTries(&got), map[string]any{"url": "http://" + closedPort(t) + "/x", "authentication_method": "api_key",
		"api_key": key, "api_key_name": "key", "api_key_in": "query", "retry_backoff": map[string]any{"deadline": 1.5}})
	if err == nil || len(got) != 2 {
		t.Fatalf("err = %v, %d reports; want an error after two tries", err, len(got))
	}
	raw, _ := json.Marshal([]any{out, got[0].log, err.Error()})
	if strings.Contains(string(raw), key) || !strings.Contains(string(raw), "key=REDACTED") {
		t.Errorf("outputs, reported log and error %s, want the key redacted", raw)
	}
}
