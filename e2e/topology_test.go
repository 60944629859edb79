package e2e

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	tclient "go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// The production topology, as docs/production.md deploys it: PostgreSQL, the official
// Temporal server on it (deploy/temporal/postgres.yaml, schemas by
// deploy/temporal/setup-schema.sh), one `flowd serve --role api` and `--role worker`
// processes of the real binary, each a separate OS process. FLOWD_TEST_TEMPORAL_DIR
// names the directory that deploy/temporal/build.sh made (temporal-server,
// temporal-sql-tool and the schemas); .ci/run sets it.

// topology is one running production topology of a test or benchmark.
type topology struct {
	tb       testing.TB
	root     string // the repository
	dir      string // data dirs and process logs
	tdir     string // FLOWD_TEST_TEMPORAL_DIR
	flowd    string // the flowd binary (its sandbox program is the harness's)
	pg       *testPostgres
	dbURL    string // flowd's database
	tport    int    // Temporal's frontend port; the server uses the ten after it too
	temporal *osProc
	api      *osProc
	url      string // the API's base URL
	workers  []*osProc
	c        *client // signed in as the admin
	seq      int     // numbers the processes' log files
}

// osProc is one process of the topology, its output in a log file.
type osProc struct {
	name    string
	cmd     *exec.Cmd
	done    chan struct{} // closed when it exited
	log     string
	metrics string // a worker's /metrics URL
}

func topologyDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("FLOWD_TEST_TEMPORAL_DIR")
	if dir == "" {
		tb.Skip("FLOWD_TEST_TEMPORAL_DIR is not set: build the official Temporal server with deploy/temporal/build.sh <dir> and set it to <dir> (.ci/run does)")
	}
	return dir
}

// startTopology starts PostgreSQL, Temporal, the API and two workers.
func startTopology(tb testing.TB, tdir string) *topology {
	tb.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		tb.Fatal(err)
	}
	tp := &topology{tb: tb, root: root, dir: tb.TempDir(), tdir: tdir}
	tb.Cleanup(tp.dumpLogsOnFailure)
	tp.pg = startPostgres(tb)
	tp.pg.su(tb, fmt.Sprintf("%s/psql -h 127.0.0.1 -p %d -U postgres -qc 'CREATE DATABASE flowd'", tp.pg.bin, tp.pg.port))
	tp.dbURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/flowd?sslmode=disable", tp.pg.port)

	setup := exec.Command("sh", filepath.Join(root, "deploy/temporal/setup-schema.sh"), tdir)
	setup.Env = append(cleanEnv(), tp.temporalEnv()...)
	if out, err := setup.CombinedOutput(); err != nil {
		tb.Fatalf("deploy/temporal/setup-schema.sh: %v\n%s", err, out)
	}
	tp.tport = freePortRange(tb, 11)
	tp.startTemporal()

	tp.flowd = flowdBinary(tb)
	apiPort := freePort(tb)
	tp.url = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	tp.api = tp.startFlowd("api", "--role", "api", "--addr", fmt.Sprintf("127.0.0.1:%d", apiPort))
	tp.waitReady(90 * time.Second)
	tp.c = &client{base: tp.url}
	if err := tp.c.login(adminID, adminSecret); err != nil {
		tb.Fatal(err)
	}
	tp.workers = []*osProc{tp.startWorker(), tp.startWorker()}
	return tp
}

// cleanEnv is this process's environment without flowd's and Temporal's variables,
// so that each process gets only what the topology gives it.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FLOWD_") && !strings.HasPrefix(kv, "TEMPORAL_") {
			env = append(env, kv)
		}
	}
	return env
}

// temporalEnv configures setup-schema.sh and postgres.yaml.
func (tp *topology) temporalEnv() []string {
	return []string{"TEMPORAL_DB_HOST=127.0.0.1", fmt.Sprintf("TEMPORAL_DB_PORT=%d", tp.pg.port), "TEMPORAL_DB_USER=postgres",
		fmt.Sprintf("TEMPORAL_FRONTEND_PORT=%d", tp.tport)}
}

// start starts a process with its output in <dir>/<name>-<n>.log.
func (tp *topology) start(name string, env []string, path string, args ...string) *osProc {
	tp.tb.Helper()
	tp.seq++
	p := &osProc{name: name, done: make(chan struct{}), log: filepath.Join(tp.dir, fmt.Sprintf("%s-%d.log", name, tp.seq))}
	f, err := os.Create(p.log)
	if err != nil {
		tp.tb.Fatal(err)
	}
	p.cmd = exec.Command(path, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = f, f
	if err := p.cmd.Start(); err != nil {
		tp.tb.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); f.Close(); close(p.done) }()
	tp.tb.Cleanup(func() { p.kill() })
	return p
}

// startTemporal starts the official server and waits until its frontend accepts
// connections.
func (tp *topology) startTemporal() {
	tp.tb.Helper()
	tp.temporal = tp.start("temporal", append(cleanEnv(), tp.temporalEnv()...), filepath.Join(tp.tdir, "temporal-server"),
		"--config-file", filepath.Join(tp.root, "deploy/temporal/postgres.yaml"), "--allow-no-auth", "start")
	addr := fmt.Sprintf("127.0.0.1:%d", tp.tport)
	eventually(tp.tb, 90*time.Second, "the Temporal server listens on "+addr, func() (bool, string) {
		select {
		case <-tp.temporal.done:
			tp.tb.Fatalf("the Temporal server exited: see %s", tp.temporal.log)
		default:
		}
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return false, err.Error()
		}
		conn.Close()
		return true, ""
	})
}

// startFlowd starts `flowd serve` with the topology's database, Temporal and secret
// key, and role-specific args.
func (tp *topology) startFlowd(name string, args ...string) *osProc {
	tp.tb.Helper()
	env := append(cleanEnv(), "FLOWD_SECRET_KEY="+testSecretKey, "FLOWD_ADMIN_CLIENT_ID="+adminID, "FLOWD_ADMIN_CLIENT_SECRET="+adminSecret)
	all := append([]string{"serve", "--database-url", tp.dbURL, "--temporal-address", fmt.Sprintf("127.0.0.1:%d", tp.tport),
		"--data-dir", filepath.Join(tp.dir, fmt.Sprintf("data-%s-%d", name, tp.seq+1)),
		// The connectors call httptest servers on 127.0.0.1.
		"--no-block-private-networks", "--sandbox-binary", os.Getenv("FLOWD_SANDBOX_BINARY")}, args...)
	return tp.start(name, env, tp.flowd, all...)
}

// startWorker starts one more worker process and waits until its /readyz says that
// it polls Temporal.
func (tp *topology) startWorker() *osProc {
	tp.tb.Helper()
	port := freePort(tp.tb)
	w := tp.startFlowd("worker", "--role", "worker", "--metrics-addr", fmt.Sprintf("127.0.0.1:%d", port))
	w.metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	eventually(tp.tb, 90*time.Second, "the worker is ready at "+w.metrics, func() (bool, string) {
		select {
		case <-w.done:
			tp.tb.Fatalf("the worker exited: see %s", w.log)
		default:
		}
		resp, err := http.Get(strings.TrimSuffix(w.metrics, "/metrics") + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return w
}

// waitReady waits until the API answers /readyz with 200.
func (tp *topology) waitReady(timeout time.Duration) {
	tp.tb.Helper()
	eventually(tp.tb, timeout, "the API is ready at "+tp.url, func() (bool, string) {
		resp, err := http.Get(tp.url + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}

// started reads flowd_executions_started_total from a worker's metrics.
func (p *osProc) started() (float64, error) {
	resp, err := http.Get(p.metrics)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "flowd_executions_started_total "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("no flowd_executions_started_total in %s", p.metrics)
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would.
func (p *osProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop ends the process with SIGTERM, as an operator's stop does, and waits for it.
func (p *osProc) stop(tb testing.TB) {
	tb.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(2 * time.Minute):
		p.kill()
		tb.Fatalf("%s did not stop within 2 minutes of SIGTERM: see %s", p.name, p.log)
	}
}

// dumpLogsOnFailure prints the end of every process log when the test failed.
func (tp *topology) dumpLogsOnFailure() {
	if !tp.tb.Failed() {
		return
	}
	logs, _ := filepath.Glob(filepath.Join(tp.dir, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		tp.tb.Logf("--- last lines of %s:\n%s", filepath.Base(l), strings.Join(lines[max(0, len(lines)-25):], "\n"))
	}
}

// freePortRange returns the first of n consecutive free TCP ports.
func freePortRange(tb testing.TB, n int) int {
	tb.Helper()
next:
	for range 100 {
		base := freePort(tb)
		for p := base; p < base+n; p++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				continue next
			}
			ln.Close()
		}
		return base
	}
	tb.Fatalf("no %d consecutive free ports", n)
	return 0
}

// startAsync starts a flow without waiting and returns its execution id.
func startAsync(t *testing.T, c *client, flow string, inputs map[string]any) string {
	t.Helper()
	var e execution
	c.must(t, "POST", "/api/v1/flows/"+flow+"/executions", map[string]any{"inputs": inputs}, &e, 200, 201, 202)
	return e.ID
}

// waitAllStarted waits until every execution runs (RUNNING or WAITING), so that a
// fault hits them mid-run.
func waitAllStarted(t *testing.T, c *client, ids []string) {
	t.Helper()
	eventually(t, 2*time.Minute, fmt.Sprintf("all %d executions run", len(ids)), func() (bool, string) {
		for _, id := range ids {
			var e execution
			if st, err := c.call("GET", "/api/v1/executions/"+id, nil, &e); err != nil || st != 200 {
				return false, fmt.Sprintf("GET %s: %d %v", id, st, err)
			}
			if e.Status != "RUNNING" && e.Status != "WAITING" {
				return false, id + " is " + e.Status
			}
		}
		return true, ""
	})
}

// endAllSuccess waits for every execution to end and checks it ENDED_SUCCESS.
func endAllSuccess(t *testing.T, c *client, ids []string) []execution {
	t.Helper()
	var out []execution
	for _, id := range ids {
		e := waitEnded(t, c, id, 3*time.Minute)
		if e.Status != "ENDED_SUCCESS" {
			t.Errorf("execution %s ended %s: %s", id, e.Status, e.StatusMessage)
		}
		out = append(out, e)
	}
	return out
}

// TestProductionTopology runs flowd as production does, as separate processes of the
// real binary on the official Temporal server and PostgreSQL, through the faults an
// operator meets: a worker killed, Temporal restarted, PostgreSQL restarted and
// stopped, and a rolling restart of the workers. Every execution must end
// ENDED_SUCCESS, and no record may stay open.
func TestProductionTopology(t *testing.T) {
	tp := startTopology(t, topologyDir(t))
	c := tp.c
	var calls atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok": true}`))
	}))
	defer target.Close()

	t.Run("WorkerKilled", func(t *testing.T) {
		const total, inFlight = 300, 20
		flow := unique("topo_five")
		pushFlow(t, c, flow, `function handler(system, inputs) {
  for (let i = 0; i < 5; i++) this.connect({connector_type: 'REST', url: inputs.url + '?i=' + i});
  this.sleep(1);
  return {done: true};
}`)
		// Worker 0 is killed with SIGKILL once it has begun 20 flows, so that it
		// dies holding work: its executions must finish on worker 1.
		victim, survivor := tp.workers[0], tp.workers[1]
		var before float64
		killed := make(chan error, 1)
		go func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			deadline := time.Now().Add(2 * time.Minute)
			for time.Now().Before(deadline) {
				if n, err := victim.started(); err == nil && n >= 20 {
					before = n
					victim.kill()
					killed <- nil
					return
				}
				<-tick.C
			}
			killed <- fmt.Errorf("worker 0 did not begin 20 flows within 2 minutes")
		}()
		ids := make([]string, total)
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, inFlight)
		for range inFlight {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := next.Add(1) - 1; i < total; i = next.Add(1) - 1 {
					var e execution
					st, err := c.call("POST", "/api/v1/flows/"+flow+"/executions?wait=120", map[string]any{"inputs": map[string]any{"url": target.URL}}, &e)
					if err != nil || (st != 200 && st != 202) {
						errs <- fmt.Errorf("start %d: HTTP %d %v", i, st, err)
						return
					}
					ids[i] = e.ID
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if err := <-killed; err != nil {
			t.Fatal(err)
		}
		for _, e := range endAllSuccess(t, c, ids) {
			var n int
			for _, ch := range childrenOf(t, c, e.ID) {
				if ch.Type == "CONNECTION" {
					n++
					if ch.Status != "ENDED_SUCCESS" {
						t.Errorf("execution %s: connection %s ended %s: %s", e.ID, ch.ID, ch.Status, ch.StatusMessage)
					}
				}
			}
			if n != 5 {
				t.Errorf("execution %s has %d CONNECTION children, want exactly 5", e.ID, n)
			}
		}
		after, err := survivor.started()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("worker 0 began %v flows before it was killed; worker 1 began %v; the target answered %d calls for %d connects", before, after, calls.Load(), 5*total)
		if after == 0 {
			t.Error("worker 1 began no flow: the work was not shared")
		}
		tp.workers[0] = tp.startWorker() // as a supervisor would
	})

	t.Run("TemporalRestart", func(t *testing.T) {
		flow := unique("topo_sleep")
		pushFlow(t, c, flow, `function handler(system, inputs) { this.sleep(inputs.s); return {slept: inputs.s}; }`)
		var ids []string
		for range 20 {
			ids = append(ids, startAsync(t, c, flow, map[string]any{"s": 6}))
		}
		waitAllStarted(t, c, ids)
		tp.temporal.stop(t)
		st, h, msg := rawCallWith(t, c, "POST", "/api/v1/flows/"+flow+"/executions", `{"inputs": {}}`)
		if st != 503 || h.Get("Retry-After") == "" {
			t.Errorf("a start with Temporal down: HTTP %d, Retry-After %q: %s; want 503 with a Retry-After", st, h.Get("Retry-After"), msg)
		}
		tp.startTemporal()
		tp.waitReady(2 * time.Minute)
		endAllSuccess(t, c, ids)
		if e := runFlow(t, c, flow, map[string]any{"s": 0}); e.Status != "ENDED_SUCCESS" {
			t.Errorf("a flow after Temporal came back ended %s: %s", e.Status, e.StatusMessage)
		}
	})

	t.Run("PostgresRestartAndStop", func(t *testing.T) {
		flow := unique("topo_pg")
		pushFlow(t, c, flow, `function handler(system, inputs) {
  for (let i = 0; i < 4; i++) {
    this.connect({connector_type: 'REST', url: inputs.url + '?step=' + i});
    if (i < 3) this.sleep(3);
  }
  return {steps: 4};
}`)
		var ids []string
		for range 50 {
			ids = append(ids, startAsync(t, c, flow, map[string]any{"url": target.URL}))
		}
		waitAllStarted(t, c, ids)
		tp.pg.su(t, fmt.Sprintf("%s/pg_ctl -D %s/data -l %s/log -m fast -w restart", tp.pg.bin, tp.pg.dir, tp.pg.dir))
		// The API's pooled connections were ended by the restart: its first request
		// must still answer, on a fresh connection.
		if st, _, msg := rawCall(t, c, "GET", "/api/v1/executions/"+ids[0]); st != 200 {
			t.Errorf("the first request after a PostgreSQL restart: HTTP %d: %s", st, msg)
		}
		tp.pg.stop(t)
		eventually(t, time.Minute, "the API reports the database down", func() (bool, string) {
			st, _, msg := rawCall(t, c, "GET", "/readyz")
			return st == 503, fmt.Sprint(st, msg)
		})
		// The outage lasts 10 s: its length is the scenario, not a wait for something.
		<-time.After(10 * time.Second)
		tp.pg.start(t)
		tp.waitReady(2 * time.Minute)
		endAllSuccess(t, c, ids)
	})

	t.Run("RollingRestart", func(t *testing.T) {
		flow := unique("topo_rolling")
		script := `function handler(system, inputs) { this.sleep(4); return {rev: %d}; }`
		pushFlow(t, c, flow, fmt.Sprintf(script, 1))
		var ids []string
		for range 10 {
			ids = append(ids, startAsync(t, c, flow, nil))
		}
		pushFlow(t, c, flow, fmt.Sprintf(script, 2))
		for range 10 {
			ids = append(ids, startAsync(t, c, flow, nil))
		}
		waitAllStarted(t, c, ids)
		for i, old := range tp.workers {
			tp.workers[i] = tp.startWorker()
			old.stop(t)
		}
		for i, e := range endAllSuccess(t, c, ids) {
			want := 1 + i/10
			if e.FlowRevision != want || e.Outputs["rev"] != float64(want) {
				t.Errorf("execution %s started on revision %d ran revision %d and returned %v", e.ID, want, e.FlowRevision, e.Outputs)
			}
		}
	})

	var open []string
	for _, st := range []string{"PENDING", "RUNNING", "WAITING"} {
		var list struct{ Items []execution }
		c.must(t, "GET", "/api/v1/executions?status="+st, nil, &list, 200)
		for _, e := range list.Items {
			open = append(open, fmt.Sprintf("%s %s %s", e.ID, e.Name, e.Status))
		}
	}
	if len(open) > 0 {
		t.Errorf("records left open after every execution ended: %v", open)
	}
}

// BenchmarkTopology measures flowd in the production topology next to a plain
// Temporal workflow making the same HTTP calls on the same Temporal server (its
// worker in this process): a 1-step flow with one in flight (the latency of
// POST ?wait=, where the API learns of the end from another process), and with 20 in
// flight on two workers, then on one.
//
//	FLOWD_TEST_TEMPORAL_DIR=... go test ./e2e -run '^$' -bench Topology -benchtime 1x
func BenchmarkTopology(b *testing.B) {
	tp := startTopology(b, topologyDir(b))
	tc, err := tclient.Dial(tclient.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", tp.tport), Namespace: "default",
		Logger: tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))})
	if err != nil {
		b.Fatal(err)
	}
	defer tc.Close()
	e := newBenchEnv(&backend{name: "topology", api: tp.c}, tc)
	defer e.target.Close()
	st, body, err := e.do("PUT", "/api/v1/flows/"+e.flow, map[string]string{"script": benchScript})
	if err != nil || (st != 200 && st != 201) {
		b.Fatalf("save flow: HTTP %d %v: %s", st, err, body)
	}
	startPlainWorker(b, e)
	b.Run("Latency1", func(b *testing.B) { topoCase(b, e, "topology latency1, two workers", 1, 1, 1, 40) })
	b.Run("Throughput20TwoWorkers", func(b *testing.B) { topoCase(b, e, "topology throughput20, two workers", 1, 20, 5, 2) })
	tp.workers[1].stop(b)
	b.Run("Throughput20OneWorker", func(b *testing.B) { topoCase(b, e, "topology throughput20, one worker", 1, 20, 5, 2) })
}

// topoCase runs rounds in which flowd and the plain workflow alternate, each running
// perClient flows on each of inFlight goroutines, and reports both sides' figures.
func topoCase(b *testing.B, e *benchEnv, name string, steps, inFlight, perClient, rounds int) {
	fl := &side{name: "flowd", run: func() error { return e.runFlowd(e.be, steps) }}
	pl := &side{name: "plain", run: func() error { return e.runPlain(steps) }}
	for _, s := range []*side{fl, pl} {
		for range benchWarmup {
			if err := s.run(); err != nil {
				b.Fatalf("warmup %s: %v", s.name, err)
			}
		}
		s.f = figures{}
	}
	b.ResetTimer()
	for range b.N {
		for r := range rounds {
			for _, s := range [][]*side{{fl, pl}, {pl, fl}}[r%2] {
				if err := e.batch(s, inFlight, perClient); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.StopTimer()
	f, p := fl.f, pl.f
	b.ReportMetric(f.pct(50), "p50_ms")
	b.ReportMetric(f.perSec(), "flows/s")
	b.ReportMetric(p.pct(50), "plain_p50_ms")
	b.ReportMetric(p.perSec(), "plain_flows/s")
	b.ReportMetric(f.perSec()/p.perSec(), "x_flows/s")
	var sb strings.Builder
	fmt.Fprintf(&sb, "== %s: %d-step flow, %d in flight, %d flowd + %d plain flows, alternating\n", name, steps, inFlight, f.flows(), p.flows())
	fmt.Fprintf(&sb, "   %-6s %9s %9s %9s %9s\n", "", "ms/flow", "p50_ms", "p99_ms", "flows/s")
	for _, s := range []*side{fl, pl} {
		fmt.Fprintf(&sb, "   %-6s %9.1f %9.1f %9.1f %9.1f\n", s.name, s.f.meanMs(), s.f.pct(50), s.f.pct(99), s.f.perSec())
	}
	fmt.Fprintf(&sb, "   %-6s %8.2fx %8.2fx %8.2fx %8.2fx   (flowd / plain)", "ratio",
		f.meanMs()/p.meanMs(), f.pct(50)/p.pct(50), f.pct(99)/p.pct(99), f.perSec()/p.perSec())
	b.Log(sb.String())
}
