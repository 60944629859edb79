package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// liveTriesScript connects once to inputs.url (or to the URL its parts make),
// retrying every second for up to two minutes.
const liveTriesScript = `function handler(system, inputs) {
  const c = this.connect({connector_type: 'REST', url: inputs.url,
    retry_backoff: {initial: 1, multiplier: 1, maximum: 1, deadline: 120}});
  return {status_code: c.get('output_value').status_code};
}`

// gate is an HTTP target whose every try fails until open is called: nothing
// listens on its port (connection refused), or it answers 503.
type gate struct {
	url  string
	open func()
	// failed tells whether a try's log entry shows this gate's failure.
	failed func(entry map[string]any) bool
}

// refusingGate listens on its port only once opened.
func refusingGate(t *testing.T) gate {
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	return gate{url: "http://" + addr + "/tries", open: func() {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen on %s to open the gate: %v", addr, err)
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		srv.Listener.Close()
		srv.Listener = l
		srv.Start()
		t.Cleanup(srv.Close)
	}, failed: func(e map[string]any) bool {
		msg, _ := e["error"].(string)
		return strings.Contains(msg, "connection refused") && e["status_code"] == nil
	}}
}

// unavailableGate answers 503 Service Unavailable until opened.
func unavailableGate(t *testing.T) gate {
	var open atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !open.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return gate{url: srv.URL + "/tries", open: func() { open.Store(true) }, failed: func(e map[string]any) bool {
		return e["status_code"] == 503.0 && e["error"] == nil
	}}
}

// TestLiveTries: while a connect retries, each finished try is in its CONNECTION
// execution's outputs.log (the children list, GET of the execution and its
// event stream), the same entries the final log starts with; the flow and the
// connection have started_at while they run, so clients can count their
// duration up.
func TestLiveTries(t *testing.T) {
	for _, tc := range []struct {
		name string
		gate func(*testing.T) gate
	}{{"Refused", refusingGate}, {"Unavailable", unavailableGate}} {
		t.Run(tc.name, func(t *testing.T) {
			each(t, func(t *testing.T, b *backend) {
				g := tc.gate(t)
				flow := unique("live_tries")
				pushFlow(t, b.api, flow, liveTriesScript)
				var e execution
				b.api.must(t, "POST", "/api/v1/flows/"+flow+"/executions", map[string]any{"inputs": map[string]any{"url": g.url}}, &e, 201)
				t.Cleanup(func() { b.api.call("POST", "/api/v1/executions/"+e.ID+"/cancel", nil, nil) })

				// The parent's live view: its children, polled as the UI does.
				conn, live := waitTries(t, b, e.ID, 2)
				checkFailedTries(t, g, live)
				var parent, got execution
				b.api.must(t, "GET", "/api/v1/executions/"+e.ID, nil, &parent, 200)
				if parent.Status != "RUNNING" && parent.Status != "WAITING" || parent.StartedAt == nil || parent.EndedAt != nil {
					t.Fatalf("while its connect retries the flow is %s, started_at %v, ended_at %v; want RUNNING or WAITING, started, not ended", parent.Status, parent.StartedAt, parent.EndedAt)
				}
				if conn.Status != "RUNNING" || conn.StartedAt == nil {
					t.Fatalf("the retrying connection is %s, started_at %v; want RUNNING and started", conn.Status, conn.StartedAt)
				}
				// The connection itself, read later, holds the same tries and maybe more.
				b.api.must(t, "GET", "/api/v1/executions/"+conn.ID, nil, &got, 200)
				wantPrefix(t, "GET of the connection", tries(got), live)

				// Its event stream sends the outputs again whenever a try is added.
				streamed := streamTries(t, b, conn.ID, len(tries(got))+1)
				wantPrefix(t, "the event stream", streamed, tries(got))
				checkFailedTries(t, g, streamed)

				g.open()
				e = waitEnded(t, b.api, e.ID, 60*time.Second)
				if e.Status != "ENDED_SUCCESS" || e.Outputs["status_code"] != 200.0 {
					t.Fatalf("after the gate opened the flow ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
				}
				b.api.must(t, "GET", "/api/v1/executions/"+conn.ID, nil, &got, 200)
				final := tries(got)
				wantPrefix(t, "the final log", final, streamed)
				last := final[len(final)-1].(map[string]any)
				if last["status_code"] != 200.0 || last["retry_in_seconds"] != nil || last["try"] != float64(len(final)) {
					t.Errorf("the final log ends with %v, want try %d answered 200 and not retried", last, len(final))
				}
			})
		})
	}
}

// TestLiveTriesRedactSecrets: a secret the call sends in its URL (path and
// query) and a header, and which the connection errors quote, appears in no form
// in the tries shown while the connect retries (the children list, GET of the
// connection and its event stream), as in the final outputs.
func TestLiveTriesRedactSecrets(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		g := refusingGate(t)
		host, port, _ := strings.Cut(strings.TrimPrefix(strings.TrimSuffix(g.url, "/tries"), "http://"), ":")
		name := unique("live_pw")
		value := unique("lv") + " sp<ec>&/ü?#%;"
		putSecret(t, b.api, name, value)
		flow := unique("live_secret")
		pushFlow(t, b.api, flow, fmt.Sprintf(`function handler(system, inputs) {
  const s = system.secret(%q);
  this.connect({connector_type: 'REST', scheme: 'http', hostname: %q, port: %s, base_path: s, path: 'tail',
    params: {sig: s}, headers: {'X-Key': s}, retry_backoff: {initial: 1, multiplier: 1, maximum: 1, deadline: 120}});
  return {ok: true};
}`, name, host, port))
		var e execution
		b.api.must(t, "POST", "/api/v1/flows/"+flow+"/executions", map[string]any{}, &e, 201)
		t.Cleanup(func() { b.api.call("POST", "/api/v1/executions/"+e.ID+"/cancel", nil, nil) })

		conn, live := waitTries(t, b, e.ID, 2)
		checkFailedTries(t, g, live)
		shown := map[string][]byte{
			"children":       rawGet(t, b.api, "/api/v1/executions/"+e.ID+"/children"),
			"the connection": rawGet(t, b.api, "/api/v1/executions/"+conn.ID),
		}
		stream, _ := json.Marshal(streamTries(t, b, conn.ID, len(live)+1))
		shown["the event stream"] = stream
		for where, data := range shown {
			if !strings.Contains(string(data), "[redacted]") {
				t.Errorf("%s shows no redacted tries: %s", where, data)
			}
			for _, f := range leakForms("", value) {
				if strings.Contains(string(data), f) {
					t.Errorf("secret form %q found in %s while the connect retries: %s", f, where, data)
				}
			}
		}

		g.open()
		if e = waitEnded(t, b.api, e.ID, 60*time.Second); e.Status != "ENDED_SUCCESS" {
			t.Fatalf("after the gate opened the flow ended %s %q", e.Status, e.StatusMessage)
		}
		assertNoSecret(t, b, e.ID, leakForms("", value)...)
	})
}

// waitTries polls the children of flow execution id until its CONNECTION child's
// outputs.log has at least n tries that will be retried, and returns the child
// and those entries.
func waitTries(t *testing.T, b *backend, id string, n int) (execution, []any) {
	t.Helper()
	var conn execution
	var log []any
	eventually(t, 60*time.Second, fmt.Sprintf("%d retried tries in the running connection", n), func() (bool, string) {
		for _, k := range childrenOf(t, b.api, id) {
			if k.Type != "CONNECTION" {
				continue
			}
			conn, log = k, tries(k)
			retried := 0
			for _, e := range log {
				if m, _ := e.(map[string]any); m["retry_in_seconds"] != nil {
					retried++
				}
			}
			return retried >= n, fmt.Sprintf("%s %v", k.Status, k.Outputs)
		}
		return false, "no connection yet"
	})
	return conn, log
}

// tries returns the outputs.log of a connection.
func tries(e execution) []any {
	log, _ := e.Outputs["log"].([]any)
	return log
}

// checkFailedTries fails the test unless every entry is a try of the gate that
// failed as it fails and will be retried, numbered from 1, with the fields
// clients show.
func checkFailedTries(t *testing.T, g gate, log []any) {
	t.Helper()
	for i, e := range log {
		m, _ := e.(map[string]any)
		msg, _ := m["message"].(string)
		_, timed := m["duration_ms"].(float64)
		if m["try"] != float64(i+1) || m["method"] != "GET" || !timed || m["retry_in_seconds"] != 1.0 ||
			!g.failed(m) || !strings.HasPrefix(msg, fmt.Sprintf("try %d: GET ", i+1)) || !strings.HasSuffix(msg, "retrying in 1s") {
			t.Errorf("entry %d is %v, want try %d that failed and is retried in 1 s", i+1, e, i+1)
		}
		if u, _ := m["url"].(string); !strings.HasPrefix(u, strings.TrimSuffix(g.url, "/tries")) {
			t.Errorf("entry %d has url %v, want the gate's %s", i+1, m["url"], g.url)
		}
	}
}

// wantPrefix fails the test unless got starts with the entries of want.
func wantPrefix(t *testing.T, what string, got, want []any) {
	t.Helper()
	if len(got) < len(want) || !reflect.DeepEqual(got[:len(want)], want) {
		t.Fatalf("%s has the tries %v, want them to start with the ones shown before %v", what, got, want)
	}
}

// streamTries reads the event stream of execution id until a "status" event
// shows at least n entries in outputs.log, and returns that log.
func streamTries(t *testing.T, b *backend, id string, n int) []any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.api.base+"/api/v1/executions/"+id+"/logs", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+b.api.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var event string
	var last execution
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || (event != "status" && event != "end") {
			continue
		}
		if err := json.Unmarshal([]byte(data), &last); err != nil {
			t.Fatalf("%s event %s: %v", event, data, err)
		}
		if event == "end" {
			t.Fatalf("the stream ended before showing %d tries: %v", n, last.Outputs)
		}
		if len(tries(last)) >= n {
			return tries(last)
		}
	}
	t.Fatalf("the stream stopped (%v) before showing %d tries; last status %s %v", sc.Err(), n, last.Status, last.Outputs)
	return nil
}
