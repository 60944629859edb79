package rest_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/flowd/flowd/connectors/rest"
)

// keyRecorder is a server that records the Idempotency-Key of every request
// (as seen on the wire, "" for none) and answers 503 to the first failures.
type keyRecorder struct {
	mu       sync.Mutex
	keys     []string
	present  []bool
	failures int
}

func (k *keyRecorder) serve(tb testing.TB) string {
	return MustServer(tb, func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		defer k.mu.Unlock()
		v, ok := r.Header["Idempotency-Key"]
		k.present = append(k.present, ok)
		k.keys = append(k.keys, strings.Join(v, ","))
		if len(k.keys) <= k.failures {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

func (k *keyRecorder) got() ([]string, []bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.keys...), append([]bool(nil), k.present...)
}

// engineKey is the context of a call made by the engine for connection id.
func engineKey(id string) context.Context {
	return rest.WithCallOptions(context.Background(), rest.CallOptions{IdempotencyKey: id})
}

func TestIdempotencyKeyMethods(t *testing.T) {
	for _, tt := range []struct {
		method string
		sent   bool
	}{
		{"POST", true}, {"PUT", true}, {"PATCH", true}, {"DELETE", true}, {"delete", true},
		{"GET", false}, {"HEAD", false}, {"OPTIONS", false},
	} {
		t.Run(tt.method, func(t *testing.T) {
			var rec keyRecorder
			url := rec.serve(t)
			if _, err := (&rest.Connector{}).Call(engineKey("conn-1"), map[string]any{"url": url, "method": tt.method}); err != nil {
				t.Fatal(err)
			}
			keys, present := rec.got()
			if len(keys) != 1 {
				t.Fatalf("requests: %d, want 1", len(keys))
			}
			if present[0] != tt.sent {
				t.Fatalf("Idempotency-Key sent = %v, want %v (got %q)", present[0], tt.sent, keys[0])
			}
			if tt.sent && keys[0] != "conn-1" {
				t.Fatalf("Idempotency-Key = %q, want the engine's key conn-1", keys[0])
			}
		})
	}
}

// Every retry of one call sends the same key; another call sends another.
func TestIdempotencyKeyRetriesKeepIt(t *testing.T) {
	rec := keyRecorder{failures: 2}
	url := rec.serve(t)
	in := map[string]any{"url": url, "json": map[string]any{"amount": 1}}
	if _, err := fast().Call(engineKey("conn-7"), in); err != nil {
		t.Fatal(err)
	}
	keys, _ := rec.got()
	if want := []string{"conn-7", "conn-7", "conn-7"}; strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Fatalf("keys of the tries = %q, want %q", keys, want)
	}

	// Without a key from the engine (a connector test, say) each call makes one up,
	// kept across its retries.
	rec = keyRecorder{failures: 1}
	url = rec.serve(t)
	in["url"] = url
	for range 2 {
		if _, err := fast().Call(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	keys, _ = rec.got()
	if len(keys) != 3 || keys[0] == "" || keys[0] != keys[1] || keys[2] == keys[0] || keys[2] == "" {
		t.Fatalf("keys = %q, want one made-up key for both tries of the first call and another for the second", keys)
	}
}

func TestIdempotencyKeyInput(t *testing.T) {
	for _, tt := range []struct {
		name    string
		in      map[string]any
		present bool
		want    string
	}{
		{"Default", map[string]any{}, true, "conn-1"},
		{"True", map[string]any{"idempotency_key": true}, true, "conn-1"},
		{"Null", map[string]any{"idempotency_key": nil}, true, "conn-1"},
		{"False", map[string]any{"idempotency_key": false}, false, ""},
		{"Text", map[string]any{"idempotency_key": "order-42"}, true, "order-42"},
		{"HeaderWins", map[string]any{"idempotency_key": "order-42", "headers": map[string]any{"Idempotency-Key": "mine"}}, true, "mine"},
		{"HeaderWinsAnyCase", map[string]any{"headers": map[string]any{"idempotency-KEY": "mine"}}, true, "mine"},
		{"HeaderWinsOverFalse", map[string]any{"idempotency_key": false, "headers": map[string]any{"idempotency-key": "mine"}}, true, "mine"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var rec keyRecorder
			in := map[string]any{"url": rec.serve(t), "method": "POST"}
			for k, v := range tt.in {
				in[k] = v
			}
			if _, err := (&rest.Connector{}).Call(engineKey("conn-1"), in); err != nil {
				t.Fatal(err)
			}
			keys, present := rec.got()
			if len(keys) != 1 || present[0] != tt.present || keys[0] != tt.want {
				t.Fatalf("Idempotency-Key headers = %q (present %v), want one %q (present %v)", keys, present, tt.want, tt.present)
			}
		})
	}
}

func TestIdempotencyKeyInputErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		value any
		want  string
	}{
		{"Number", 42.0, "input idempotency_key must be text (the key to send) or false (send no Idempotency-Key header), not a number"},
		{"Object", map[string]any{"a": "b"}, "not an object"},
		{"Empty", "", "must be text of 1 to 255 printable ASCII characters"},
		{"LineBreak", "a\r\nX-Injected: 1", "must be text of 1 to 255 printable ASCII characters"},
		{"NonASCII", "clé", "printable ASCII"},
		{"TooLong", strings.Repeat("k", 256), "1 to 255"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var rec keyRecorder
			_, err := CallErr(t, &rest.Connector{}, map[string]any{"url": rec.serve(t), "method": "POST", "idempotency_key": tt.value})
			WantInputError(t, err, tt.want)
			if keys, _ := rec.got(); len(keys) != 0 {
				t.Fatalf("a request was sent: %q", keys)
			}
		})
	}
}

// Each page of a paginated POST is another request, so it gets another key, the
// same on every run of the call.
func TestIdempotencyKeyPages(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	url := MustServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("page") == "" {
			w.Write([]byte(`{"items": [1], "next": "2"}`))
			return
		}
		w.Write([]byte(`{"items": [2], "next": null}`))
	})
	in := map[string]any{"url": url, "method": "POST", "paginate": map[string]any{"next": "next", "param": "page", "items": "items"}}
	MustCall(t, &rest.Connector{}, in)
	want := []string{"conn-3", "conn-3/page-2"}
	if _, err := (&rest.Connector{}).Call(engineKey("conn-3"), in); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 4 || keys[2] != want[0] || keys[3] != want[1] || keys[0] == "" || keys[1] != keys[0]+"/page-2" {
		t.Fatalf("keys = %q, want a made-up key and its /page-2, then %q", keys, want)
	}
}
