package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowd/flowd/internal/app"
)

// outageFlow makes a few connector calls, waits, and makes one more: a flow that is
// in flight, between the database and Temporal, when the database goes away.
const outageFlow = `function handler(system, inputs) {
  for (let i = 0; i < 3; i++) this.connect({connector_type: 'REST', url: inputs.url + '?i=' + i});
  this.sleep(2);
  const last = this.connect({connector_type: 'REST', url: inputs.url + '?i=last'});
  return {last: last.get('status')};
}`

// TestDatabaseOutage stops a PostgreSQL of the test's own for 10 s while 50 flows run:
// the API answers 503 with Retry-After meanwhile, and every execution ends
// ENDED_SUCCESS in the database once it is back.
func TestDatabaseOutage(t *testing.T) {
	if os.Getenv("FLOWD_TEST_POSTGRES_URL") == "" {
		t.Skip("set FLOWD_TEST_POSTGRES_URL (as .ci/run does) to run the PostgreSQL tests; this one starts a PostgreSQL of its own")
	}
	pg := startPostgres(t)
	_, c := startSignedIn(t, app.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), DatabaseURL: pg.url, TemporalPort: 0, TaskQueue: "e2e-outage",
		SecretKey: testSecretKey,
	})
	var calls atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer target.Close()
	pushFlow(t, c, "outage", outageFlow)

	const n = 50
	ids := make([]string, n)
	for i := range ids {
		var e execution
		c.must(t, "POST", "/api/v1/flows/outage/executions", map[string]any{"inputs": map[string]any{"url": target.URL}}, &e, 200, 201, 202)
		ids[i] = e.ID
	}
	eventually(t, 30*time.Second, "the flows make their first calls", func() (bool, string) {
		return calls.Load() >= n, fmt.Sprintf("%d calls", calls.Load())
	})

	pg.stop(t)
	stopped := time.Now()
	if at := calls.Load(); at >= 4*n {
		t.Fatalf("all %d calls were made before the database stopped: the outage met no flow in flight", at)
	}
	// Every route that reads the database says so, with 503 and Retry-After; none
	// answers 500, and a sign-in is not told its credentials are wrong.
	routes := []struct{ method, path string }{
		{"GET", "/api/v1/executions"},
		{"GET", "/api/v1/executions/" + ids[0]},
		{"GET", "/api/v1/executions/" + ids[0] + "/logs"},
		{"GET", "/api/v1/flows"},
		{"GET", "/api/v1/flows/outage"},
		{"POST", "/api/v1/flows/outage/executions"},
		{"PUT", "/api/v1/flows/outage2"},
		{"POST", "/api/v1/auth/token"},
	}
	for _, r := range routes {
		eventually(t, 8*time.Second, r.method+" "+r.path+" answers 503 while the database is down", func() (bool, string) {
			st, hdr, msg := rawCall(t, c, r.method, r.path)
			ok := st == http.StatusServiceUnavailable && hdr.Get("Retry-After") != "" && strings.Contains(msg, "the database is unreachable")
			return ok, fmt.Sprintf("HTTP %d Retry-After %q: %s", st, hdr.Get("Retry-After"), msg)
		})
	}
	if st, _, msg := rawCall(t, c, "GET", "/readyz"); st != http.StatusServiceUnavailable || !strings.Contains(msg, "database") {
		t.Errorf("GET /readyz with the database down: HTTP %d %s, want 503 naming the database", st, msg)
	}
	// The outage lasts 10 s, as a database restart or failover might: its length is
	// the scenario, not a wait for something.
	time.Sleep(time.Until(stopped.Add(10 * time.Second)))
	pg.start(t)

	for _, id := range ids {
		if e := waitEnded(t, c, id, 120*time.Second); e.Status != "ENDED_SUCCESS" {
			t.Errorf("execution %s: %s %q, want ENDED_SUCCESS", id, e.Status, e.StatusMessage)
		}
	}
	// Calls whose end could not be recorded are made again (at least once): more
	// than 4 per flow is allowed, and worth seeing.
	t.Logf("%d connector calls for %d connections", calls.Load(), 4*n)
	// The database itself, children included: every row of these flows has ended.
	db, err := sql.Open("pgx", pg.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var flows, connections, open int
	marks, args := make([]string, n), make([]any, n)
	for i, id := range ids {
		marks[i], args[i] = fmt.Sprintf("$%d", i+1), id
	}
	q := `SELECT count(*) FILTER (WHERE type = 'FLOW' AND status = 'ENDED_SUCCESS'),
	             count(*) FILTER (WHERE type = 'CONNECTION' AND status = 'ENDED_SUCCESS'),
	             count(*) FILTER (WHERE status NOT LIKE 'ENDED_%')
	      FROM executions WHERE root_id IN (` + strings.Join(marks, ",") + `)`
	if err := db.QueryRow(q, args...).Scan(&flows, &connections, &open); err != nil {
		t.Fatal(err)
	}
	if flows != n || connections != 4*n || open != 0 {
		t.Errorf("in the database: %d flows and %d connections ENDED_SUCCESS, %d rows not ended; want %d, %d and 0", flows, connections, open, n, 4*n)
	}
}

// TestTemporalOutage cuts an API process off from Temporal: starts answer 503 with
// Retry-After and say Temporal is unreachable, /readyz is not ready, and what needs
// only the database goes on.
func TestTemporalOutage(t *testing.T) {
	proxy := newCutProxy(t, backends[0].app.TemporalAddress)
	_, c := startSignedIn(t, app.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), TemporalAddress: proxy.addr(), Role: "api", TaskQueue: "e2e-temporal-outage",
		SecretKey: testSecretKey, TemporalConnectTimeout: 10 * time.Second,
	})
	pushFlow(t, c, "hello", `function handler() { return {}; }`)
	if st, _, msg := rawCall(t, c, "GET", "/readyz"); st != 200 {
		t.Fatalf("GET /readyz before the outage: HTTP %d %s", st, msg)
	}

	proxy.cut()
	st, hdr, msg := rawCall(t, c, "POST", "/api/v1/flows/hello/executions")
	if st != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(msg, "Temporal unreachable") {
		t.Errorf("a start with Temporal down: HTTP %d Retry-After %q: %s; want 503 with Retry-After saying Temporal is unreachable", st, hdr.Get("Retry-After"), msg)
	}
	if st, hdr, msg := rawCall(t, c, "GET", "/readyz"); st != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(msg, "Temporal at "+proxy.addr()+" is unreachable") {
		t.Errorf("GET /readyz with Temporal down: HTTP %d: %s", st, msg)
	}
	if st, _, msg := rawCall(t, c, "GET", "/api/v1/executions"); st != 200 {
		t.Errorf("GET /api/v1/executions needs only the database: HTTP %d %s", st, msg)
	}
}

// rawCall sends an empty JSON object (or nothing, for GET) and returns the status,
// the headers and the error message of the answer.
func rawCall(t *testing.T, c *client, method, path string) (int, http.Header, string) {
	t.Helper()
	body := ""
	if method != "GET" {
		body = `{"script": "function handler() {}", "grant_type": "client_credentials", "client_id": "` + adminID + `", "client_secret": "` + adminSecret + `"}`
	}
	return rawCallWith(t, c, method, path, body)
}

// rawCallWith sends body (nothing when empty) and returns the status, the headers and
// the error message of the answer.
func rawCallWith(t *testing.T, c *client, method, path, body string) (int, http.Header, string) {
	t.Helper()
	var in io.Reader
	if body != "" {
		in = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, in)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &e)
	if e.Error.Message == "" {
		e.Error.Message = string(raw)
	}
	return resp.StatusCode, resp.Header, e.Error.Message
}

// testPostgres is a PostgreSQL server of one test, in a temporary directory, that the
// test can stop and start again on the same port.
type testPostgres struct {
	bin, dir string
	port     int
	url      string
}

// startPostgres initialises and starts a PostgreSQL from /usr/lib/postgresql (as
// .ci/run does), run by the postgres user; it is removed when the test ends.
func startPostgres(t testing.TB) *testPostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	if len(bins) == 0 {
		t.Fatal("no PostgreSQL in /usr/lib/postgresql/*/bin: install the postgresql package")
	}
	sort.Strings(bins)
	dir, err := os.MkdirTemp("", "flowd-outage-pg-")
	if err != nil {
		t.Fatal(err)
	}
	pg := &testPostgres{bin: bins[len(bins)-1], dir: dir, port: freePort(t)}
	pg.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("su", "postgres", "-c", fmt.Sprintf("%s/pg_ctl -D %s/data -m immediate stop", pg.bin, pg.dir)).Run()
		os.RemoveAll(dir)
	})
	pg.su(t, fmt.Sprintf("%s/initdb -D %s/data -A trust -U postgres --no-sync", pg.bin, pg.dir))
	pg.start(t)
	return pg
}

func (pg *testPostgres) su(t testing.TB, command string) {
	t.Helper()
	if out, err := exec.Command("su", "postgres", "-c", command).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", command, err, out)
	}
}

func (pg *testPostgres) start(t testing.TB) {
	t.Helper()
	pg.su(t, fmt.Sprintf("%s/pg_ctl -D %s/data -l %s/log -w -o '-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300' start", pg.bin, pg.dir, pg.dir, pg.port, pg.dir))
}

// stop stops the server as an operator's restart does: it ends the connections.
func (pg *testPostgres) stop(t testing.TB) {
	t.Helper()
	pg.su(t, fmt.Sprintf("%s/pg_ctl -D %s/data -m fast -w stop", pg.bin, pg.dir))
}

// cutProxy forwards TCP connections to a target until cut, which closes them all and
// stops listening: what a client sees when a server goes away.
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(p.cut)
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
