package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/flowd/flowd/store"
)

// The startup tests run the real flowd program, built once per test run, because
// what they check is what a user sees in a terminal: one line that names the cause,
// exit status 1, and never a Go panic.

var flowdBuild struct {
	once sync.Once
	path string
	err  error
}

// flowdBinary returns the path of cmd/flowd built into a temporary directory.
func flowdBinary(t testing.TB) string {
	t.Helper()
	flowdBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "flowd-bin-")
		if err != nil {
			flowdBuild.err = err
			return
		}
		flowdBuild.path = filepath.Join(dir, "flowd")
		out, err := exec.Command("go", "build", "-o", flowdBuild.path, "github.com/flowd/flowd/cmd/flowd").CombinedOutput()
		if err != nil {
			flowdBuild.err = fmt.Errorf("build cmd/flowd: %v\n%s", err, out)
		}
	})
	if flowdBuild.err != nil {
		t.Fatal(flowdBuild.err)
	}
	return flowdBuild.path
}

// flowdCommand is the flowd program with args, in an environment without the
// FLOWD_ variables of the test process (but for the sandbox program), plus env.
func flowdCommand(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(flowdBinary(t), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FLOWD_") || strings.HasPrefix(kv, "FLOWD_SANDBOX_BINARY=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// startupFailure runs flowd, which must fail to start, and returns its last line
// after checking that it exited 1 with exactly one "flowd:" line and no panic.
func startupFailure(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := flowdCommand(t, env, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("flowd %s did not exit within 90 s; output:\n%s", strings.Join(args, " "), out.String())
	}
	text := out.String()
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("flowd exited with %d (%v), want 1; output:\n%s", code, err, text)
	}
	for _, bad := range []string{"panic:", "goroutine ", "[running]", "runtime error"} {
		if strings.Contains(text, bad) {
			t.Fatalf("the output holds %q (a Go panic or goroutine dump):\n%s", bad, text)
		}
	}
	var errLines []string
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if strings.HasPrefix(line, "flowd: ") {
			errLines = append(errLines, line)
		}
	}
	if len(errLines) != 1 {
		t.Fatalf("want exactly one line starting with \"flowd: \", got %d; output:\n%s", len(errLines), text)
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if last := lines[len(lines)-1]; last != errLines[0] {
		t.Fatalf("the error is not the last line; output:\n%s", text)
	}
	return errLines[0]
}

// mustContain fails the test unless line holds every one of wants.
func mustContain(t *testing.T, line string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(line, w) {
			t.Errorf("the error line does not say %q:\n%s", w, line)
		}
	}
}

func TestStartupErrors(t *testing.T) {
	base := func(dir string) []string {
		return []string{"serve", "--data-dir", dir, "--addr", "127.0.0.1:0", "--temporal-port", "0"}
	}

	t.Run("TemporalUnreachable", func(t *testing.T) {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		line := startupFailure(t, nil, append(base(t.TempDir()), "--temporal-address", addr, "--temporal-connect-timeout", "1s")...)
		mustContain(t, line, "Temporal at "+addr+" did not answer within 1s", "connection refused", "check --temporal-address", "--temporal-connect-timeout")
	})

	t.Run("NamespaceMissing", func(t *testing.T) {
		ns := unique("missing")
		line := startupFailure(t, nil, append(base(t.TempDir()),
			"--temporal-address", backends[0].app.TemporalAddress, "--namespace", ns, "--namespace-retention", "0")...)
		mustContain(t, line, fmt.Sprintf("the Temporal namespace %q does not exist", ns),
			"temporal operator namespace create --namespace "+ns, "--namespace")
	})

	t.Run("DatabaseUnreachable", func(t *testing.T) {
		dbURL := fmt.Sprintf("postgres://flowd:hunter2@127.0.0.1:%d/flowd?sslmode=disable", freePort(t))
		line := startupFailure(t, nil, append(base(t.TempDir()), "--database-url", dbURL)...)
		mustContain(t, line, "database postgres://flowd:***@127.0.0.1:", "is unreachable", "connection refused", "--database-url")
		if strings.Contains(line, "hunter2") {
			t.Errorf("the error line shows the database password: %s", line)
		}
	})

	if pg := os.Getenv("FLOWD_TEST_POSTGRES_URL"); pg != "" {
		t.Run("DatabaseRefusesCredentials", func(t *testing.T) {
			u, err := url.Parse(pg)
			if err != nil {
				t.Fatal(err)
			}
			u.User = url.UserPassword(unique("nobody"), "hunter2")
			line := startupFailure(t, nil, append(base(t.TempDir()), "--database-url", u.String())...)
			mustContain(t, line, "refused the credentials", "check the user and password in --database-url")
			if strings.Contains(line, "hunter2") {
				t.Errorf("the error line shows the database password: %s", line)
			}
		})
	}

	t.Run("DatabaseFromNewerFlowd", func(t *testing.T) {
		dir := t.TempDir()
		newest := migrateAhead(t, dir)
		line := startupFailure(t, nil, base(dir)...)
		mustContain(t, line, "migrated by a newer flowd", fmt.Sprintf("schema version %d", newest+1), "run that newer flowd")
	})

	t.Run("PortInUse", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		args := base(t.TempDir())
		args[4] = ln.Addr().String()
		line := startupFailure(t, nil, args...)
		mustContain(t, line, "listen on "+ln.Addr().String(), "address already in use", "--addr")
	})

	for name, key := range map[string]string{
		"SecretKeyNotBase64": "not a key!",
		"SecretKeyTooShort":  "c2hvcnQ=", // "short"
	} {
		t.Run(name, func(t *testing.T) {
			line := startupFailure(t, []string{"FLOWD_SECRET_KEY=" + key}, base(t.TempDir())...)
			mustContain(t, line, "FLOWD_SECRET_KEY", "openssl rand -base64 32")
		})
	}
}

// migrateAhead makes the SQLite database in dir look migrated by a newer flowd, one
// schema version past this one's newest, which it returns.
func migrateAhead(t *testing.T, dir string) int64 {
	t.Helper()
	s, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "flowd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var newest int64
	if err := db.QueryRow("SELECT MAX(version_id) FROM goose_db_version").Scan(&newest); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)", newest+1); err != nil {
		t.Fatal(err)
	}
	return newest
}

// serveProcess is the flowd program serving until the test ends.
type serveProcess struct {
	cmd *exec.Cmd
	out *bytes.Buffer
	url string
}

func startServe(t *testing.T, args ...string) *serveProcess {
	t.Helper()
	port := freePort(t)
	args = append([]string{"serve", "--data-dir", t.TempDir(), "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--temporal-port", "0"}, args...)
	cmd := flowdCommand(t, []string{"FLOWD_SECRET_KEY=" + testSecretKey, "FLOWD_ADMIN_CLIENT_ID=" + adminID, "FLOWD_ADMIN_CLIENT_SECRET=" + adminSecret}, args...)
	p := &serveProcess{cmd: cmd, out: &bytes.Buffer{}, url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("flowd %s:\n%s", strings.Join(args, " "), p.out.String())
		}
	})
	eventually(t, 60*time.Second, "flowd answers at "+p.url, func() (bool, string) {
		resp, err := http.Get(p.url + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return true, ""
	})
	return p
}

// readyz returns the status and body of GET /readyz.
func readyz(t *testing.T, base string) (int, string) {
	t.Helper()
	var body struct {
		Error struct{ Message string } `json:"error"`
	}
	st, err := (&client{base: base}).call("GET", "/readyz", nil, &body)
	if err != nil {
		t.Fatal(err)
	}
	return st, body.Error.Message
}

func TestNamespace(t *testing.T) {
	temporal := backends[0].app.Temporal.WorkflowService()

	t.Run("RegisteredWhenMissing", func(t *testing.T) {
		ns := unique("registered")
		p := startServe(t, "--temporal-address", backends[0].app.TemporalAddress, "--namespace", ns, "--namespace-retention", "72h")
		eventually(t, 30*time.Second, "flowd is ready", func() (bool, string) {
			st, msg := readyz(t, p.url)
			return st == 200, fmt.Sprintf("HTTP %d %s", st, msg)
		})
		got, err := temporal.DescribeNamespace(context.Background(), &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		if err != nil {
			t.Fatalf("the namespace was not registered: %v", err)
		}
		if r := got.Config.GetWorkflowExecutionRetentionTtl().AsDuration(); r != 72*time.Hour {
			t.Errorf("retention %v, want 72h", r)
		}
		c := &client{base: p.url}
		if err := c.login(adminID, adminSecret); err != nil {
			t.Fatal(err)
		}
		pushFlow(t, c, "hello", `function handler(system, inputs) { return {hi: inputs.name}; }`)
		e := runFlow(t, c, "hello", map[string]any{"name": "ns"})
		if e.Status != "ENDED_SUCCESS" || e.Outputs["hi"] != "ns" {
			t.Fatalf("the flow in the registered namespace: %+v", e)
		}
	})

	t.Run("APIRoleNotReadyUntilCreated", func(t *testing.T) {
		ns := unique("absent")
		p := startServe(t, "--role", "api", "--temporal-address", backends[0].app.TemporalAddress, "--namespace", ns, "--namespace-retention", "0")
		st, msg := readyz(t, p.url)
		if st != http.StatusServiceUnavailable {
			t.Fatalf("GET /readyz with namespace %s missing: HTTP %d, want 503", ns, st)
		}
		mustContain(t, msg, fmt.Sprintf("namespace %q does not exist", ns), "temporal operator namespace create --namespace "+ns)

		c := &client{base: p.url}
		if err := c.login(adminID, adminSecret); err != nil {
			t.Fatal(err)
		}
		pushFlow(t, c, "hello", `function handler() { return {}; }`)
		if st, err := c.call("POST", "/api/v1/flows/hello/executions", map[string]any{}, nil); err != nil || st != http.StatusServiceUnavailable {
			t.Fatalf("a start with the namespace missing: HTTP %d (%v), want 503", st, err)
		}

		// Created by the operator: ready without a restart.
		if _, err := temporal.RegisterNamespace(context.Background(), &workflowservice.RegisterNamespaceRequest{
			Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "flowd is ready once the namespace exists", func() (bool, string) {
			st, msg := readyz(t, p.url)
			return st == 200, fmt.Sprintf("HTTP %d %s", st, msg)
		})
	})
}
