package engine

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowd/flowd/connectors/rest"
)

// updatesStore keeps one connection row and every update of its outputs, in
// order, as the store applies them: never to an ended row.
type updatesStore struct {
	Store // nil: any other method panics
	mu    sync.Mutex
	row   *Execution
	seen  []ExecutionUpdate
}

func (s *updatesStore) Record(_ context.Context, p Progress) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range p.Create {
		if s.row == nil {
			s.row = &e
			if p.Created != nil {
				*p.Created = 1
			}
		}
	}
	for _, u := range p.Updates {
		if s.row == nil || u.ID != s.row.ID || s.row.Status.Ended() && !u.Status.Ended() {
			continue
		}
		s.seen = append(s.seen, u)
		if u.Status != "" {
			s.row.Status = u.Status
		}
		if u.Outputs != nil {
			s.row.Outputs = u.Outputs
		}
	}
	return nil
}

func (s *updatesStore) GetExecution(_ context.Context, id string) (Execution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.row == nil || s.row.ID != id {
		return Execution{}, Errorf(ENotFound, "no execution %s", id)
	}
	return *s.row, nil
}

func (s *updatesStore) updates() []ExecutionUpdate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ExecutionUpdate(nil), s.seen...)
}

// retryOnce answers 503 to the first request and 200 to the others.
func retryOnce(t *testing.T) string {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func logOf(t *testing.T, raw json.RawMessage) []any {
	t.Helper()
	var out struct {
		Log []any `json:"log"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("outputs %s: %v", raw, err)
	}
	return out.Log
}

// TestConnectShowsTries: a try that will be retried is written to the running
// connection's outputs before the wait; the final outputs, written last, start
// with the same entries.
func TestConnectShowsTries(t *testing.T) {
	st := &updatesStore{}
	a := &Activities{Store: st, Connectors: map[string]Connector{"REST": &rest.Connector{}}}
	res, err := a.Connect(context.Background(), ConnectInput{ParentID: "p", RootID: "p", ChildID: "c", At: time.Now(),
		Inputs: map[string]any{"connector_type": "REST", "url": retryOnce(t), "retry_backoff": map[string]any{"initial": 1.0}}})
	if err != nil || res.Status != StatusEndedSuccess {
		t.Fatalf("Connect = %+v, %v", res, err)
	}
	ups := st.updates()
	if len(ups) < 2 || ups[0].Status != "" || !ups[len(ups)-1].Status.Ended() {
		t.Fatalf("updates %+v, want the retried try's first, the end last", ups)
	}
	live, final := logOf(t, ups[0].Outputs), logOf(t, ups[len(ups)-1].Outputs)
	if len(live) != 1 || live[0].(map[string]any)["retry_in_seconds"] != 1.0 {
		t.Fatalf("live log %v, want the first try, retried in 1 s", live)
	}
	if len(final) != 2 || !reflect.DeepEqual(final[:1], live) {
		t.Fatalf("final log %v, want the live one %v and the last try", final, live)
	}
	for _, u := range ups[1 : len(ups)-1] { // the last try, if the call took liveTriesEvery to end after it
		if log := logOf(t, u.Outputs); !reflect.DeepEqual(log, final) || u.Status != "" {
			t.Errorf("update %+v between the live and the final one, want the final log while running", u)
		}
	}
}

// TestConnectRerunClearsTries: a run of the activity after a worker crashed
// mid-call does not show the crashed run's tries as its own.
func TestConnectRerunClearsTries(t *testing.T) {
	st := &updatesStore{row: &Execution{ID: "c", Type: TypeConnection, Status: StatusRunning,
		Outputs: json.RawMessage(`{"log":[{"try":1,"message":"from the crashed run"},{"try":2,"message":"from the crashed run"}]}`)}}
	a := &Activities{Store: st, Connectors: map[string]Connector{"REST": &rest.Connector{}}}
	res, err := a.Connect(context.Background(), ConnectInput{ParentID: "p", RootID: "p", ChildID: "c", At: time.Now(),
		Inputs: map[string]any{"connector_type": "REST", "url": retryOnce(t), "retry_backoff": map[string]any{"initial": 1.0}}})
	if err != nil || res.Status != StatusEndedSuccess {
		t.Fatalf("Connect = %+v, %v", res, err)
	}
	ups := st.updates()
	if len(ups) != 3 || string(ups[0].Outputs) != "{}" {
		t.Fatalf("updates %+v, want the crashed run's tries cleared first", ups)
	}
	for _, u := range ups[1:] {
		if log := logOf(t, u.Outputs); log[0].(map[string]any)["message"] == "from the crashed run" {
			t.Errorf("outputs %s mix in the crashed run's tries", u.Outputs)
		}
	}
}

// TestLiveTriesThrottled: tries that are not retried are written together,
// at most one write per liveTriesEvery, and none after stop (a pending one is
// dropped, and a retried try is not written).
func TestLiveTriesThrottled(t *testing.T) {
	st := &updatesStore{row: &Execution{ID: "c", Status: StatusRunning}}
	l := (&Activities{Store: st}).liveTries(context.Background(), "c", nil)
	for i := 1; i <= 3; i++ {
		l.report(make([]any, i), false)
	}
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for waiting := true; waiting && len(st.updates()) == 0; {
		select {
		case <-deadline:
			waiting = false
		case <-tick.C:
		}
	}
	ups := st.updates()
	if len(ups) != 1 || len(logOf(t, ups[0].Outputs)) != 3 {
		t.Fatalf("updates %+v, want one with the three tries", ups)
	}
	l.report(make([]any, 4), false)
	l.stop()
	l.report(make([]any, 5), true)
	if got := st.updates(); len(got) != 1 {
		t.Fatalf("updates after stop: %+v", got[1:])
	}
}
