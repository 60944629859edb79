package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// keySeen is one request as a target server saw it.
type keySeen struct {
	method, path, key string
	has               bool
}

// keyServer records the Idempotency-Key of every request and echoes it as JSON
// {"key", "has"}; hold, when it returns true for a request (with n the number of
// requests to its path so far, this one included), keeps that request open until
// release is closed or the client goes away.
type keyServer struct {
	mu   sync.Mutex
	seen []keySeen
}

func (s *keyServer) start(t *testing.T, hold func(r *http.Request, n int) bool, release <-chan struct{}, arrived chan<- string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, has := r.Header["Idempotency-Key"]
		s.mu.Lock()
		s.seen = append(s.seen, keySeen{method: r.Method, path: r.URL.Path, key: strings.Join(v, ","), has: has})
		n := 0
		for _, x := range s.seen {
			if x.path == r.URL.Path {
				n++
			}
		}
		s.mu.Unlock()
		if arrived != nil {
			arrived <- r.URL.Path
		}
		if hold != nil && hold(r, n) {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"key": strings.Join(v, ","), "has": has})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (s *keyServer) requests(path string) []keySeen {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []keySeen
	for _, r := range s.seen {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// connectionFor returns the CONNECTION child of parent whose inputs call path.
func connectionFor(t *testing.T, kids []execution, path string) execution {
	t.Helper()
	var found []execution
	for _, k := range kids {
		if u, _ := k.Inputs["url"].(string); k.Type == "CONNECTION" && strings.HasSuffix(u, path) {
			found = append(found, k)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one CONNECTION row for %s, got %d: %+v", path, len(found), found)
	}
	return found[0]
}

// TestIdempotencyKeys checks the Idempotency-Key header a flow's calls send: the
// CONNECTION execution's id by default on POST, PUT, PATCH and DELETE, none on
// GET, none with idempotency_key false, the flow's own key, a header in headers
// over both, and an input error (no request) for a key that tries to smuggle in
// another header.
func TestIdempotencyKeys(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		var s keyServer
		srv := s.start(t, nil, nil, nil)
		name := unique("idem")
		pushFlow(t, b.api, name, `function handler(system, inputs) {
  const call = (path, extra) => this.connect(Object.assign({connector_type: 'REST', url: inputs.base + path}, extra)).get('output_value').json;
  const out = {
    post: call('/post', {json: {amount: 5}}),
    put: call('/put', {method: 'PUT', json: {}}),
    patch: call('/patch', {method: 'PATCH', json: {}}),
    del: call('/delete', {method: 'DELETE'}),
    get: call('/get', {}),
    off: call('/off', {method: 'POST', idempotency_key: false}),
    own: call('/own', {method: 'POST', idempotency_key: 'order-42'}),
    header: call('/header', {method: 'POST', idempotency_key: 'order-42', headers: {'idempotency-key': 'from-headers'}}),
  };
  try {
    call('/smuggle', {method: 'POST', idempotency_key: 'k\r\nX-Admin: yes'});
    out.smuggle = 'sent';
  } catch (e) {
    out.smuggle = e.message;
  }
  try {
    call('/number', {method: 'POST', idempotency_key: 42});
    out.number = 'sent';
  } catch (e) {
    out.number = e.message;
  }
  return out;
}`)
		e := runFlow(t, b.api, name, map[string]any{"base": srv.URL})
		if e.Status != "ENDED_SUCCESS" {
			t.Fatalf("the flow ended %s: %s", e.Status, e.StatusMessage)
		}
		kids := childrenOf(t, b.api, e.ID)
		keys := map[string]string{}
		for _, path := range []string{"/post", "/put", "/patch", "/delete"} {
			conn := connectionFor(t, kids, path)
			got := s.requests(path)
			if len(got) != 1 || !got[0].has || got[0].key != conn.ID {
				t.Fatalf("%s: requests %+v, want one with Idempotency-Key %s (the CONNECTION id)", path, got, conn.ID)
			}
			if other, dup := keys[got[0].key]; dup {
				t.Fatalf("%s and %s sent the same key %s", other, path, got[0].key)
			}
			keys[got[0].key] = path
		}
		for path, want := range map[string]string{"/get": "", "/off": "", "/own": "order-42", "/header": "from-headers"} {
			got := s.requests(path)
			if len(got) != 1 || got[0].has != (want != "") || got[0].key != want {
				t.Fatalf("%s: requests %+v, want one with Idempotency-Key %q", path, got, want)
			}
		}
		for _, path := range []string{"/smuggle", "/number"} {
			if got := s.requests(path); len(got) != 0 {
				t.Fatalf("%s: a request was sent with a bad idempotency_key: %+v", path, got)
			}
		}
		if msg, _ := e.Outputs["smuggle"].(string); !strings.Contains(msg, "idempotency_key must be text of 1 to 255 printable ASCII characters") {
			t.Fatalf("a key with a line break gave %q, want the input error", msg)
		}
		if msg, _ := e.Outputs["number"].(string); !strings.Contains(msg, "idempotency_key must be text (the key to send) or false") {
			t.Fatalf("a number as the key gave %q, want the input error", msg)
		}
	})
}

// TestKillDuringIdempotentPost kills flowd with SIGKILL while a POST waits for its
// answer. After the restart the call runs again (HTTP calls are at-least-once):
// the target sees two requests carrying one key, the CONNECTION execution's id,
// and the flow records exactly one CONNECTION row for the call.
func TestKillDuringIdempotentPost(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		release := make(chan struct{})
		var once sync.Once
		defer once.Do(func() { close(release) })
		arrived := make(chan string, 10)
		var s keyServer
		srv := s.start(t, func(r *http.Request, n int) bool { return r.URL.Path == "/pay" && n == 1 }, release, arrived)

		k := newKillable(t, b)
		c := k.c
		name := unique("pay")
		pushFlow(t, c, name, `function handler(system, inputs) {
  const paid = this.connect({connector_type: 'REST', url: inputs.base + '/pay', json: {amount: 5}});
  const sent = this.connect({connector_type: 'REST', url: inputs.base + '/receipt', method: 'PUT', json: {}});
  return {pay: paid.get('output_value').json.key, receipt: sent.get('output_value').json.key};
}`)
		var started execution
		c.must(t, "POST", "/api/v1/flows/"+name+"/executions", map[string]any{"inputs": map[string]any{"base": srv.URL}}, &started, 201)
		select {
		case <-arrived: // the POST, which now hangs
		case <-time.After(60 * time.Second):
			t.Fatal("the flow did not call the target")
		}
		k.p.kill9(t)

		k.start(t)
		c = k.c
		e := waitEnded(t, c, started.ID, 90*time.Second)
		if e.Status != "ENDED_SUCCESS" {
			t.Fatalf("after the restart the flow ended %s: %s", e.Status, e.StatusMessage)
		}
		kids := childrenOf(t, c, e.ID)
		if len(kids) != 2 {
			t.Fatalf("want 2 CONNECTION rows (one per call), got %d: %+v", len(kids), kids)
		}
		pay, receipt := connectionFor(t, kids, "/pay"), connectionFor(t, kids, "/receipt")
		got := s.requests("/pay")
		if len(got) != 2 {
			t.Fatalf("the target saw %d POSTs, want 2 (the one cut by the kill and its re-run): %+v", len(got), got)
		}
		for _, r := range got {
			if !r.has || r.key != pay.ID {
				t.Fatalf("POST requests %+v: want both with Idempotency-Key %s (the CONNECTION id)", got, pay.ID)
			}
		}
		if e.Outputs["pay"] != pay.ID || e.Outputs["receipt"] != receipt.ID || pay.ID == receipt.ID {
			t.Fatalf("outputs %v, want the keys %s and %s", e.Outputs, pay.ID, receipt.ID)
		}
		if r := s.requests("/receipt"); len(r) != 1 {
			t.Fatalf("the PUT after the restart was sent %d times: %+v", len(r), r)
		}
		for _, k := range kids {
			if k.Status != "ENDED_SUCCESS" {
				t.Fatalf("connection %s ended %s: %s", k.ID, k.Status, k.StatusMessage)
			}
		}
	})
}
