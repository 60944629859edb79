package scripting_test

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/flowd/flowd/scripting"
)

// bigHost answers every connect with 8 KB of fresh outputs and measures the heap when
// the script sleeps.
type bigHost struct {
	fakeHost
	heap uint64
}

func (h *bigHost) Connect(req scripting.ConnectRequest) (scripting.Pending, error) {
	return done{scripting.Child{ID: "c", Name: "REST", Status: "ENDED_SUCCESS", Outputs: map[string]any{"body": strings.Repeat("x", 8<<10)}}}, nil
}

func (h *bigHost) Sleep(d time.Duration) error {
	runtime.GC()
	runtime.GC() // the second cycle runs the cleanups queued by the first
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.heap = ms.HeapAlloc
	return h.fakeHost.Sleep(d)
}

// Handles the script dropped do not keep their results: 20,000 connects of 8 KB each
// (160 MB if kept) leave the heap small.
func TestDroppedHandlesAreCollected(t *testing.T) {
	h := &bigHost{fakeHost: fakeHost{now: start}}
	src := `function handler() {
  for (let i = 0; i < 20000; i++) this.connect({connector_type: 'REST', url: 'http://x/' + i});
  const kept = this.connect({connector_type: 'REST', url: 'http://x/kept'});
  this.sleep(1);
  return {n: kept.get('output_value').body.length};
}`
	out := scripting.Run(mustCompile(t, src), h, nil, scripting.Options{Seed: 42})
	if out.Status != "ENDED_SUCCESS" || out.Outputs["n"] != float64(8<<10) {
		t.Fatalf("got %s %q", out.Status, out.Message)
	}
	if h.heap > 64<<20 {
		t.Fatalf("the heap holds %d MB after 20,000 dropped handles", h.heap>>20)
	}
	t.Logf("heap after 20,000 dropped handles: %d MB", h.heap>>20)
}
