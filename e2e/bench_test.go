package e2e

// Benchmarks of flowd against its real HTTP API, each next to a plain Temporal
// workflow that makes the same HTTP calls on the same embedded Temporal server, in
// the same run, so that the ratio shows what flowd adds (API, auth, store writes,
// the script) on top of Temporal itself.
//
//	go test ./e2e -run '^$' -bench . -benchtime 1x
//
// Timing is never a pass/fail condition; a flow that does not end ENDED_SUCCESS
// (or a plain workflow that fails) fails the benchmark.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	tclient "go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/internal/app"
)

const (
	benchWarmup = 3 // flows of each side run untimed before a case
	maxInFlight = 20
	plainQueue  = "flowd-bench-plain"
)

// benchEnv is what all benchmarks share: the target server and the saved flow.
type benchEnv struct {
	target   *httptest.Server
	requests atomic.Int64 // requests the target answered
	conns    atomic.Int64 // TCP connections the target accepted
	flow     string
	be       *backend
	// inproc is a second flowd on the same Temporal server whose worker runs scripts
	// in process, without sandboxes: the "before" of the sandbox, in the same run.
	inproc *backend
	http   *http.Client // the benchmarks' own API client: enough idle connections for 20 in flight
	// temporal is the client of the plain workflow's side, on flowd's Temporal server.
	temporal tclient.Client
}

var (
	benchOnce sync.Once
	benchE    *benchEnv
	benchErr  error
)

// benchScript runs inputs.steps REST calls one after the other and counts the 200s.
const benchScript = `function handler(system, inputs) {
  let ok = 0;
  for (let i = 0; i < inputs.steps; i++) {
    const r = this.connect({connector_type: 'REST', url: inputs.url});
    if (r.get('output_value').status_code === 200) ok++;
  }
  return {ok: ok};
}`

func setupBench(b *testing.B) *benchEnv {
	b.Helper()
	benchOnce.Do(func() {
		e := newBenchEnv(backends[0], backends[0].app.Temporal)
		e.inproc, benchErr = startInProcess(e.be)
		if benchErr != nil {
			return
		}
		for _, be := range []*backend{e.be, e.inproc} {
			st, body, err := e.doOn(be, "PUT", "/api/v1/flows/"+e.flow, map[string]string{"script": benchScript})
			if err == nil && st != 200 && st != 201 {
				err = fmt.Errorf("save flow: HTTP %d: %s", st, body)
			}
			if err != nil {
				benchErr = err
				return
			}
		}
		benchE = e
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchE
}

// newBenchEnv starts the target server (closed by process exit: the benchmarks
// share it) for flowd at be and the plain workflow on tc.
func newBenchEnv(be *backend, tc tclient.Client) *benchEnv {
	e := &benchEnv{be: be, flow: unique("bench_steps"), temporal: tc}
	e.target = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true,"id":7,"value":"a small JSON body"}`))
	}))
	e.target.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			e.conns.Add(1)
		}
	}
	e.target.Start()
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 2 * maxInFlight
	e.http = &http.Client{Transport: t, Timeout: 90 * time.Second}
	return e
}

// startInProcess starts flowd with scripts run in its worker process (the design
// before sandboxes) on be's Temporal server, with a database and task queue of its own.
// The benchmarks share it until the process exits.
func startInProcess(be *backend) (*backend, error) {
	dir, err := os.MkdirTemp("", "flowd-bench-inproc-")
	if err != nil {
		return nil, err
	}
	off := false
	a, c, err := startFlowd(app.Config{
		Addr: "127.0.0.1:0", DataDir: dir, TemporalAddress: be.app.TemporalAddress, TaskQueue: "bench-inproc",
		BlockPrivateNetworks: &off, Scripts: engine.InProcess{},
	})
	if err != nil {
		return nil, fmt.Errorf("the in-process flowd: %w", err)
	}
	return &backend{name: "inproc", app: a, api: c}, nil
}

// do sends one API request as the admin and returns the status and body.
func (e *benchEnv) do(method, path string, in any) (int, []byte, error) {
	return e.doOn(e.be, method, path, in)
}

func (e *benchEnv) doOn(be *backend, method, path string, in any) (int, []byte, error) {
	raw, err := json.Marshal(in)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(method, be.api.base+path, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+be.api.token)
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// runFlowd runs the flow with steps calls through POST .../executions?wait=60 and
// checks that it ended ENDED_SUCCESS with every call answered 200.
func (e *benchEnv) runFlowd(be *backend, steps int) error {
	st, body, err := e.doOn(be, "POST", "/api/v1/flows/"+e.flow+"/executions?wait=60",
		map[string]any{"inputs": map[string]any{"url": e.target.URL, "steps": steps}})
	if err != nil {
		return err
	}
	var ex execution
	if st != 200 {
		return fmt.Errorf("start flow: HTTP %d: %s", st, body)
	}
	if err := json.Unmarshal(body, &ex); err != nil {
		return fmt.Errorf("decode execution %s: %v", body, err)
	}
	if ex.Status != "ENDED_SUCCESS" {
		return fmt.Errorf("execution %s ended %s: %s", ex.ID, ex.Status, ex.StatusMessage)
	}
	if ex.Outputs["ok"] != float64(steps) {
		return fmt.Errorf("execution %s: %v of %d calls answered 200", ex.ID, ex.Outputs["ok"], steps)
	}
	return nil
}

// The plain Temporal side: a workflow of steps sequential local activities, each the
// same HTTP GET (through one shared, keep-alive http.Client, as plain code would).

const (
	plainWorkflowName = "bench.PlainSteps"
	plainActivityName = "bench.PlainGet"
)

var plainHTTP = &http.Client{Timeout: 30 * time.Second, Transport: func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 2 * maxInFlight
	return t
}()}

func plainGet(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := plainHTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return resp.StatusCode, err
	}
	return resp.StatusCode, nil
}

func plainStepsWorkflow(ctx workflow.Context, url string, steps int) (int, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 200 * time.Millisecond, MaximumAttempts: 10},
	})
	ok := 0
	for range steps {
		var code int
		if err := workflow.ExecuteLocalActivity(ctx, plainActivityName, url).Get(ctx, &code); err != nil {
			return ok, err
		}
		if code == 200 {
			ok++
		}
	}
	return ok, nil
}

// startPlainWorker starts a worker for the plain workflow on its own task queue, on
// the same client (so eager start applies) and the same embedded Temporal as flowd.
func startPlainWorker(b *testing.B, e *benchEnv) {
	b.Helper()
	w := worker.New(e.temporal, plainQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(plainStepsWorkflow, workflow.RegisterOptions{Name: plainWorkflowName})
	w.RegisterActivityWithOptions(plainGet, activity.RegisterOptions{Name: plainActivityName})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
}

var plainSeq atomic.Int64

func (e *benchEnv) runPlain(steps int) error {
	ctx := context.Background()
	id := fmt.Sprintf("bench-plain-%d-%d", time.Now().UnixNano(), plainSeq.Add(1))
	run, err := e.temporal.ExecuteWorkflow(ctx, tclient.StartWorkflowOptions{ID: id, TaskQueue: plainQueue, EnableEagerStart: true},
		plainWorkflowName, e.target.URL, steps)
	if err != nil {
		return err
	}
	var ok int
	if err := run.Get(ctx, &ok); err != nil {
		return err
	}
	if ok != steps {
		return fmt.Errorf("plain workflow %s: %d of %d calls answered 200", id, ok, steps)
	}
	return nil
}

// Measuring. The two sides of a case alternate, round by round (and flow by flow
// with one in flight), so that a change of background load while the benchmark runs
// hits both of them alike and the ratio stays meaningful.

// figures are one side's results of one case.
type figures struct {
	lat      []time.Duration // of every timed flow
	wall     time.Duration   // wall time of this side's batches
	requests int64           // target requests during this side's batches
	conns    int64           // new target connections during this side's batches
}

func (f figures) flows() int      { return len(f.lat) }
func (f figures) perSec() float64 { return float64(f.flows()) / f.wall.Seconds() }
func (f figures) meanMs() float64 {
	var sum time.Duration
	for _, l := range f.lat {
		sum += l
	}
	return ms(sum) / float64(f.flows())
}
func (f figures) pct(p float64) float64 {
	s := slices.Clone(f.lat)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1 // nearest rank
	return ms(s[max(0, min(i, len(s)-1))])
}
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// side is one way of running the case's flow.
type side struct {
	name string
	run  func() error // safe for concurrent use
	f    figures
}

// batch runs perClient flows on each of inFlight goroutines and adds them to s.f.
func (e *benchEnv) batch(s *side, inFlight, perClient int) error {
	var (
		mu  sync.Mutex
		bad error
		wg  sync.WaitGroup
	)
	req0, conn0 := e.requests.Load(), e.conns.Load()
	start := time.Now()
	for range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				t0 := time.Now()
				err := s.run()
				d := time.Since(t0)
				mu.Lock()
				s.f.lat = append(s.f.lat, d)
				if err != nil && bad == nil {
					bad = fmt.Errorf("%s: %w", s.name, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	s.f.wall += time.Since(start)
	s.f.requests += e.requests.Load() - req0
	s.f.conns += e.conns.Load() - conn0
	return bad
}

// procStatusMB reads a kB field of /proc/self/status in MB (0 where there is none).
func procStatusMB(field string) float64 {
	return float64(procStatusBytes(os.Getpid(), field)) / (1 << 20)
}

// runCase runs a case: per b.N iteration, rounds rounds in which flowd and the plain
// workflow each run perClient flows on each of inFlight goroutines. It reports flowd's
// figures under the plain units (ms/flow, p50_ms, p99_ms, flows/s), the plain
// workflow's with a plain_ prefix, the ratios with an x_ prefix, and prints a summary.
func runCase(b *testing.B, name, target string, steps, inFlight, perClient, rounds int) {
	e := setupBench(b)
	startPlainWorker(b, e)
	fl := &side{name: "flowd", run: func() error { return e.runFlowd(e.be, steps) }}
	ip := &side{name: "inproc", run: func() error { return e.runFlowd(e.inproc, steps) }}
	pl := &side{name: "plain", run: func() error { return e.runPlain(steps) }}
	for _, s := range []*side{fl, ip, pl} {
		for range benchWarmup {
			if err := s.run(); err != nil {
				b.Fatalf("warmup %s: %v", s.name, err)
			}
		}
		s.f = figures{}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := range rounds {
			order := [][]*side{{fl, ip, pl}, {pl, fl, ip}, {ip, pl, fl}}[r%3]
			for _, s := range order {
				if err := e.batch(s, inFlight, perClient); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.StopTimer()
	rss, hwm := procStatusMB("VmRSS"), procStatusMB("VmHWM")
	f, p, in := fl.f, pl.f, ip.f
	b.ReportMetric(f.meanMs(), "ms/flow")
	b.ReportMetric(f.pct(50), "p50_ms")
	b.ReportMetric(f.pct(99), "p99_ms")
	b.ReportMetric(f.perSec(), "flows/s")
	b.ReportMetric(p.meanMs(), "plain_ms/flow")
	b.ReportMetric(p.pct(50), "plain_p50_ms")
	b.ReportMetric(p.pct(99), "plain_p99_ms")
	b.ReportMetric(p.perSec(), "plain_flows/s")
	b.ReportMetric(f.meanMs()/p.meanMs(), "x_ms/flow")
	b.ReportMetric(f.perSec()/p.perSec(), "x_flows/s")
	b.ReportMetric(in.meanMs(), "inproc_ms/flow")
	b.ReportMetric(in.pct(50), "inproc_p50_ms")
	b.ReportMetric(in.perSec(), "inproc_flows/s")
	b.ReportMetric(f.meanMs()/in.meanMs(), "x_sandbox_ms/flow")
	b.ReportMetric(rss, "rss_MB")

	var sb strings.Builder
	fmt.Fprintf(&sb, "== %s: %d-step flow, %d in flight, %d flowd + %d plain flows, alternating (target: %s)\n",
		name, steps, inFlight, f.flows(), p.flows(), target)
	fmt.Fprintf(&sb, "   %-6s %9s %9s %9s %9s %11s %9s\n", "", "ms/flow", "p50_ms", "p99_ms", "flows/s", "conns/flow", "req/flow")
	for _, s := range []*side{fl, ip, pl} {
		fmt.Fprintf(&sb, "   %-6s %9.1f %9.1f %9.1f %9.1f %11.2f %9.1f\n", s.name, s.f.meanMs(), s.f.pct(50), s.f.pct(99), s.f.perSec(),
			float64(s.f.conns)/float64(s.f.flows()), float64(s.f.requests)/float64(s.f.flows()))
	}
	fmt.Fprintf(&sb, "   %-6s %8.2fx %8.2fx %8.2fx %8.2fx   (flowd / plain)\n", "ratio",
		f.meanMs()/p.meanMs(), f.pct(50)/p.pct(50), f.pct(99)/p.pct(99), f.perSec()/p.perSec())
	fmt.Fprintf(&sb, "   %-6s %8.2fx %8.2fx %8.2fx %8.2fx   (flowd / inproc: what the script sandboxes cost)\n", "ratio",
		f.meanMs()/in.meanMs(), f.pct(50)/in.pct(50), f.pct(99)/in.pct(99), f.perSec()/in.perSec())
	fmt.Fprintf(&sb, "   process RSS %.0f MB, peak %.0f MB (flowd, embedded Temporal, plain worker and test client share the process)", rss, hwm)
	b.Log(sb.String())
}

// BenchmarkSequential40 is case 1: a 40-step sequential flow end to end, ms per flow.
func BenchmarkSequential40(b *testing.B) {
	runCase(b, "sequential40", "flowd <= 100 ms/flow", 40, 1, 1, 10)
}

// BenchmarkLatency3 is case 2: a 3-step flow with one in flight, p50 and p99.
func BenchmarkLatency3(b *testing.B) {
	runCase(b, "latency3", "flowd p50 <= 25 ms", 3, 1, 1, 50)
}

// BenchmarkThroughput20 is case 3: a 1-step flow with 20 in flight, flows per second.
func BenchmarkThroughput20(b *testing.B) {
	runCase(b, "throughput20", "flowd >= 100 flows/s at 20 in flight", 1, 20, 5, 2)
}
