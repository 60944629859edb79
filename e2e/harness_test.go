// Package e2e runs flowd end to end: the real embedded Temporal server, the real HTTP
// API, SQLite (and PostgreSQL when FLOWD_TEST_POSTGRES_URL is set) and real HTTP
// servers for connectors to call. It is the one package of heavy tests, so that CI
// links the Temporal server into one test binary only.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/internal/app"
	"github.com/flowd/flowd/sandbox"
)

const (
	testSecretKey = "ZTJlLWZpeGVkLXNlY3JldC1rZXktMDEyMzQ1Njc4OWE=" // base64 of 32 bytes
	adminID       = "e2e-admin"
	adminSecret   = "e2e-admin-secret-0123456789"
)

// backend is one running flowd the tests talk to over HTTP.
type backend struct {
	name string
	app  *app.App
	api  *client
}

var backends []*backend

func TestMain(m *testing.M) {
	if sandbox.IsChild() {
		sandbox.ServeChild() // this test binary started as a script sandbox
	}
	if os.Getenv("FLOWD_E2E_SERVE") != "" {
		os.Exit(serveChild())
	}
	code, err := runWithBackends(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runWithBackends(m *testing.M) (int, error) {
	ctx := context.Background()
	level := slog.LevelWarn
	if os.Getenv("FLOWD_TEST_VERBOSE") != "" {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	dir, err := os.MkdirTemp("", "flowd-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	// Scripts run in the small flowd-sandbox program, as in production; the process
	// tests (serveChild) find it through the environment.
	sandboxBin, err := buildSandbox(dir)
	if err != nil {
		return 0, err
	}
	os.Setenv("FLOWD_SANDBOX_BINARY", sandboxBin)
	// One secrets key for every flowd of the tests, so that a PostgreSQL database
	// reused across runs, or shared with the process tests, opens what it sealed.
	os.Setenv("FLOWD_SECRET_KEY", testSecretKey)

	type want struct{ name, dbURL string }
	wants := []want{{"sqlite", ""}}
	if pg := os.Getenv("FLOWD_TEST_POSTGRES_URL"); pg != "" {
		wants = append(wants, want{"postgres", pg})
	}
	for _, w := range wants {
		a, err := app.Start(ctx, app.Config{
			Addr: "127.0.0.1:0", DataDir: dir + "/" + w.name, DatabaseURL: w.dbURL, TemporalPort: 0,
			TaskQueue: "e2e-" + w.name, AdminClientID: adminID, AdminSecret: adminSecret, Log: log.With("backend", w.name),
			SandboxBinary: sandboxBin, SecretKey: testSecretKey,
		})
		if err != nil {
			return 0, fmt.Errorf("start flowd on %s: %w", w.name, err)
		}
		defer a.Stop()
		c := &client{base: a.URL}
		if err := c.login(adminID, adminSecret); err != nil {
			return 0, err
		}
		backends = append(backends, &backend{name: w.name, app: a, api: c})
	}
	runStart := time.Now()
	code := m.Run()
	if code == 0 {
		if err := checkRecordsEnded(runStart); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			code = 1
		}
	}
	return code, nil
}

// checkRecordsEnded holds every test to the record's promise: no execution row of this
// run is left PENDING, RUNNING or WAITING while its workflow (or, for a connection,
// its flow's workflow) has closed in Temporal. The reconciler corrects such rows within
// about 10 s; past 30 s a row that is still open is a failure of the whole run.
func checkRecordsEnded(since time.Time) error {
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(time.Second) // the reconciler's pass comes every 3 s
	defer tick.Stop()
	for {
		var stuck []string
		for _, b := range backends {
			rows, err := b.app.Store.UnendedExecutions(ctx, time.Now(), time.Time{}, "", 10000)
			if err != nil {
				return err
			}
			closed := map[string]bool{}
			for _, r := range rows {
				if r.CreatedAt.Before(since) {
					continue // a database reused from an earlier run
				}
				wf := r.ID
				if r.Type == engine.TypeConnection && r.ParentID != nil {
					wf = *r.ParentID
				}
				c, seen := closed[wf]
				if !seen {
					d, err := b.app.Temporal.DescribeWorkflowExecution(ctx, wf, "")
					c = err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
					closed[wf] = c
				}
				if c {
					stuck = append(stuck, fmt.Sprintf("%s: %s %s %s (%s) whose workflow %s has closed", b.name, r.Type, r.Name, r.ID, r.Status, wf))
				}
			}
		}
		if len(stuck) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d execution rows stay open although their workflows closed:\n  %s", len(stuck), strings.Join(stuck, "\n  "))
		}
		<-tick.C
	}
}

// buildSandbox builds cmd/flowd-sandbox into dir.
func buildSandbox(dir string) (string, error) {
	bin := filepath.Join(dir, "flowd-sandbox")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/flowd/flowd/cmd/flowd-sandbox").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build flowd-sandbox: %v\n%s", err, out)
	}
	return bin, nil
}

// each runs f as a subtest on every backend.
func each(t *testing.T, f func(t *testing.T, b *backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// serveChild runs flowd in this process for the process tests (kill -9), configured
// by environment variables, until SIGTERM.
func serveChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var port int
	fmt.Sscan(os.Getenv("FLOWD_TEMPORAL_PORT"), &port)
	a, err := app.Start(ctx, app.Config{
		Addr: os.Getenv("FLOWD_ADDR"), DataDir: os.Getenv("FLOWD_DATA_DIR"), DatabaseURL: os.Getenv("FLOWD_DATABASE_URL"),
		TemporalPort: port, TemporalAddress: os.Getenv("FLOWD_TEMPORAL_ADDRESS"), Namespace: os.Getenv("FLOWD_NAMESPACE"), TaskQueue: "e2e-child", AdminClientID: adminID, AdminSecret: adminSecret, Log: log,
		SandboxBinary: os.Getenv("FLOWD_SANDBOX_BINARY"), SecretKey: os.Getenv("FLOWD_SECRET_KEY"), TrustedProxies: strings.Split(os.Getenv("FLOWD_TRUSTED_PROXIES"), ","),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child flowd:", err)
		return 1
	}
	<-ctx.Done()
	a.Stop()
	return 0
}

// client is a small JSON client of the API.
type client struct {
	base  string
	token string
}

func (c *client) login(id, secret string) error {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	st, err := c.call("POST", "/api/v1/auth/token", map[string]string{"grant_type": "client_credentials", "client_id": id, "client_secret": secret}, &tok)
	if err != nil {
		return err
	}
	if st != 200 || tok.AccessToken == "" {
		return fmt.Errorf("login as %s: HTTP %d", id, st)
	}
	c.token = tok.AccessToken
	return nil
}

// call sends a JSON request and decodes the answer into out; it returns the status.
func (c *client) call(method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		if s, ok := in.(string); ok {
			body = strings.NewReader(s)
		} else {
			b, err := json.Marshal(in)
			if err != nil {
				return 0, err
			}
			body = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d, body not JSON: %q", method, path, resp.StatusCode, data)
		}
	}
	return resp.StatusCode, nil
}

// must is call that fails the test unless the status is one of want.
func (c *client) must(t *testing.T, method, path string, in, out any, want ...int) {
	t.Helper()
	var raw json.RawMessage
	st, err := c.call(method, path, in, &raw)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	ok := false
	for _, w := range want {
		ok = ok || st == w
	}
	if !ok {
		t.Fatalf("%s %s: HTTP %d, want %v: %s", method, path, st, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// execution is the API's execution as the tests read it.
type execution struct {
	ID            string         `json:"id"`
	Type          string         `json:"type"`
	Name          string         `json:"name"`
	Status        string         `json:"status"`
	StatusMessage string         `json:"status_message"`
	ParentID      *string        `json:"parent_id"`
	RootID        string         `json:"root_id"`
	FlowRevision  int            `json:"flow_revision"`
	Inputs        map[string]any `json:"inputs"`
	Outputs       map[string]any `json:"outputs"`
	Trigger       string         `json:"trigger"`
	CreatedAt     time.Time      `json:"created_at"`
	StartedAt     *time.Time     `json:"started_at"`
	EndedAt       *time.Time     `json:"ended_at"`
}

type logLine struct {
	Seq     int64  `json:"seq"`
	Level   string `json:"level"`
	Message string `json:"message"`
}

// pushFlow saves a flow and fails the test on any error.
func pushFlow(t *testing.T, c *client, name, script string) {
	t.Helper()
	c.must(t, "PUT", "/api/v1/flows/"+name, map[string]string{"script": script}, nil, 200, 201)
}

// runFlow starts a flow and waits (up to 60 s) for it to end.
func runFlow(t *testing.T, c *client, name string, inputs map[string]any) execution {
	t.Helper()
	var e execution
	c.must(t, "POST", "/api/v1/flows/"+name+"/executions?wait=60", map[string]any{"inputs": inputs}, &e, 200)
	return e
}

// eventually checks cond until it holds, and fails the test when timeout passes
// first, with what cond last reported. Every wait of these tests goes through it (or
// through the API's own ?wait=), so that none depends on a fixed sleep.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, last string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, last := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last: %s)", what, timeout, last)
		}
		<-tick.C
	}
}

// waitEnded waits, with the API's ?wait=, until an execution ends.
func waitEnded(t *testing.T, c *client, id string, timeout time.Duration) execution {
	t.Helper()
	var e execution
	eventually(t, timeout, "execution "+id+" ends", func() (bool, string) {
		st, err := c.call("GET", "/api/v1/executions/"+id+"?wait=5", nil, &e)
		return err == nil && st == 200 && strings.HasPrefix(e.Status, "ENDED_"), fmt.Sprintf("HTTP %d %v, %+v", st, err, e)
	})
	return e
}

func logsOf(t *testing.T, c *client, id string) []logLine {
	t.Helper()
	var page struct {
		Items []logLine `json:"items"`
	}
	c.must(t, "GET", "/api/v1/executions/"+id+"/logs", nil, &page, 200)
	return page.Items
}

func childrenOf(t *testing.T, c *client, id string) []execution {
	t.Helper()
	var page struct {
		Items []execution `json:"items"`
	}
	c.must(t, "GET", "/api/v1/executions/"+id+"/children", nil, &page, 200)
	return page.Items
}

// startFlowd starts one more flowd in this process as cfg says (the tests' admin
// client, the tests' sandbox program, quiet logs unless cfg has its own) and returns
// a client signed in as the admin. The caller stops it.
func startFlowd(cfg app.Config) (*app.App, *client, error) {
	cfg.AdminClientID, cfg.AdminSecret = adminID, adminSecret
	if cfg.SandboxBinary == "" {
		cfg.SandboxBinary = os.Getenv("FLOWD_SANDBOX_BINARY")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a, err := app.Start(context.Background(), cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("start flowd: %w", err)
	}
	c := &client{base: a.URL}
	if err := c.login(adminID, adminSecret); err != nil {
		a.Stop()
		return nil, nil, err
	}
	return a, c, nil
}

// startSignedIn is startFlowd for one test: it fails the test on an error and stops
// flowd when the test ends.
func startSignedIn(t *testing.T, cfg app.Config) (*app.App, *client) {
	t.Helper()
	a, c, err := startFlowd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return a, c
}

// procStatusBytes reads a kB field of /proc/<pid>/status (VmRSS, VmHWM, ...) in bytes;
// 0 when there is none.
func procStatusBytes(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// freePort returns a TCP port that was free a moment ago, below Linux's ephemeral range
// (32768-60999): a process test restarts flowd on the same port, and a port from the
// ephemeral range may meanwhile be the local end of some outgoing connection.
func freePort(t testing.TB) int {
	t.Helper()
	for range 1000 {
		port := 20000 + rand.IntN(12000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port between 20000 and 32000")
	return 0
}

// unique returns a flow name unique to this test run, so that tests can share a
// PostgreSQL database across runs.
func unique(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
}
