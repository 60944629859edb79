// Package deploy checks the deployment files: docker-compose.yml at the repository
// root and the Temporal files in deploy/temporal.
package deploy

import (
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type service struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Environment map[string]string `yaml:"environment"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Restart     string   `yaml:"restart"`
	Volumes     []string `yaml:"volumes"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Deploy struct {
		Replicas int `yaml:"replicas"`
	} `yaml:"deploy"`
}

type compose struct {
	Services map[string]service `yaml:"services"`
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func mustParseCompose(t *testing.T) compose {
	t.Helper()
	var c compose
	if err := yaml.Unmarshal([]byte(mustRead(t, "../docker-compose.yml")), &c); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	for _, name := range []string{"postgres", "temporal-schema", "temporal", "flowd-api", "flowd-worker"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("service %s is missing", name)
		}
	}
	return c
}

// TestCompose parses docker-compose.yml (no Docker engine runs in CI) and checks that it
// deploys what the README says, with flags and environment variables flowd knows.
func TestCompose(t *testing.T) {
	c := mustParseCompose(t)
	serve := mustRead(t, "../cmd/flowd/serve.go")
	roles := map[string]string{"flowd-api": "api", "flowd-worker": "worker"}
	for name, role := range roles {
		s := c.Services[name]
		if s.Build == nil {
			t.Errorf("%s: not built from this repository", name)
		}
		if strings.Join(s.Command, " ") != "serve --role "+role {
			t.Errorf("%s: command %q, want serve --role %s", name, s.Command, role)
		}
		for k := range s.Environment {
			if !strings.Contains(serve, `env:"`+k+`"`) {
				t.Errorf("%s: environment variable %s is not one that flowd reads (cmd/flowd/serve.go)", name, k)
			}
		}
		if !strings.HasPrefix(s.Environment["FLOWD_DATABASE_URL"], "postgres://") || s.Environment["FLOWD_TEMPORAL_ADDRESS"] != "temporal:7233" {
			t.Errorf("%s: must use PostgreSQL and the temporal service: %v", name, s.Environment)
		}
	}
	// Rate limits take X-Forwarded-For only from proxies the operator names: the API
	// passes the setting through and trusts none unless it is set.
	if got := c.Services["flowd-api"].Environment["FLOWD_TRUSTED_PROXIES"]; got != "${FLOWD_TRUSTED_PROXIES:-}" {
		t.Errorf("flowd-api: FLOWD_TRUSTED_PROXIES is %q, want ${FLOWD_TRUSTED_PROXIES:-} (no proxy trusted unless the operator sets one)", got)
	}
	// The Dockerfile builds with the Go version of go.mod.
	mod := mustRead(t, "../go.mod")
	docker := mustRead(t, "../Dockerfile")
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(mod)
	if goVer == nil || !strings.Contains(docker, "golang:"+goVer[1]) {
		t.Errorf("Dockerfile's golang image does not match go.mod's Go %v", goVer)
	}
}

// TestComposeTopology checks the properties that keep the compose deployment up:
// every long-running service restarts and has a healthcheck that probes it, each
// waits for what it needs to be healthy (not merely started), and the flowd
// processes agree on the secret key and the Temporal version matches CI's.
func TestComposeTopology(t *testing.T) {
	c := mustParseCompose(t)

	t.Run("Restart", func(t *testing.T) {
		for _, name := range []string{"postgres", "temporal", "flowd-api", "flowd-worker"} {
			if got := c.Services[name].Restart; got != "unless-stopped" && got != "always" {
				t.Errorf("%s: restart %q, want unless-stopped", name, got)
			}
		}
	})

	t.Run("Healthchecks", func(t *testing.T) {
		for _, name := range []string{"postgres", "temporal", "flowd-api", "flowd-worker"} {
			if h := c.Services[name].Healthcheck; h == nil || len(h.Test) < 2 || h.Test[0] == "NONE" {
				t.Errorf("%s: no healthcheck", name)
			}
		}
		// The flowd image has no shell: its healthchecks run flowd itself, on the
		// port the process listens on.
		probes := map[string]struct{ addrVar, path string }{
			"flowd-api":    {"FLOWD_ADDR", "/readyz"},
			"flowd-worker": {"FLOWD_METRICS_ADDR", "/readyz"},
		}
		for name, p := range probes {
			s := c.Services[name]
			_, port, err := net.SplitHostPort(s.Environment[p.addrVar])
			if err != nil {
				t.Errorf("%s: %s: %v", name, p.addrVar, err)
				continue
			}
			want := []string{"CMD", "/flowd", "healthcheck", "--url", "http://127.0.0.1:" + port + p.path}
			if s.Healthcheck == nil || !slices.Equal(s.Healthcheck.Test, want) {
				t.Errorf("%s: healthcheck %v, want %v", name, s.Healthcheck, want)
			}
		}
		if h := c.Services["temporal"].Healthcheck; h == nil || !slices.Contains(h.Test, "7233") {
			t.Errorf("temporal: the healthcheck does not probe the frontend port 7233: %v", h)
		}
	})

	t.Run("DependsOn", func(t *testing.T) {
		want := map[string]map[string]string{
			"temporal-schema": {"postgres": "service_healthy"},
			"temporal":        {"postgres": "service_healthy", "temporal-schema": "service_completed_successfully"},
			"flowd-api":       {"postgres": "service_healthy", "temporal": "service_healthy"},
			"flowd-worker":    {"postgres": "service_healthy", "temporal": "service_healthy"},
		}
		for name, deps := range want {
			for dep, cond := range deps {
				if got := c.Services[name].DependsOn[dep].Condition; got != cond {
					t.Errorf("%s: depends on %s with condition %q, want %s", name, dep, got, cond)
				}
			}
		}
	})

	t.Run("StartupPatience", func(t *testing.T) {
		// A Temporal restart while flowd starts must not leave flowd dead at the
		// default 60 s; restart: covers the rest.
		for _, name := range []string{"flowd-api", "flowd-worker"} {
			d, err := time.ParseDuration(c.Services[name].Environment["FLOWD_TEMPORAL_CONNECT_TIMEOUT"])
			if err != nil || d <= time.Minute {
				t.Errorf("%s: FLOWD_TEMPORAL_CONNECT_TIMEOUT %q, want more than 1m (%v)", name, c.Services[name].Environment["FLOWD_TEMPORAL_CONNECT_TIMEOUT"], err)
			}
		}
	})

	t.Run("OneSecretKey", func(t *testing.T) {
		api := c.Services["flowd-api"].Environment["FLOWD_SECRET_KEY"]
		if !strings.HasPrefix(api, "${FLOWD_SECRET_KEY:?") {
			t.Errorf("flowd-api: FLOWD_SECRET_KEY %q, want it from the operator's ${FLOWD_SECRET_KEY:?...}", api)
		}
		if got := c.Services["flowd-worker"].Environment["FLOWD_SECRET_KEY"]; got != api {
			t.Errorf("flowd-worker: FLOWD_SECRET_KEY %q differs from flowd-api's %q: every process must decrypt the same secrets", got, api)
		}
	})

	t.Run("TwoWorkers", func(t *testing.T) {
		if got := c.Services["flowd-worker"].Deploy.Replicas; got != 2 {
			t.Errorf("flowd-worker: %d replicas, want 2", got)
		}
	})

	t.Run("TemporalVersion", func(t *testing.T) {
		// The images run the version that CI builds and tests (build/go.mod).
		ver := regexp.MustCompile(`(?m)^\s*go\.temporal\.io/server v(\S+)`).FindStringSubmatch(mustRead(t, "temporal/build/go.mod"))
		if ver == nil {
			t.Fatal("deploy/temporal/build/go.mod does not require go.temporal.io/server")
		}
		if !strings.Contains(mustRead(t, "temporal/build.sh"), "version=v"+ver[1]) {
			t.Errorf("deploy/temporal/build.sh does not name version v%s of build/go.mod", ver[1])
		}
		for name, image := range map[string]string{"temporal": "temporalio/server:", "temporal-schema": "temporalio/admin-tools:"} {
			if got := c.Services[name].Image; got != image+ver[1] {
				t.Errorf("%s: image %q, want %s%s", name, got, image, ver[1])
			}
		}
	})

	t.Run("TemporalConfig", func(t *testing.T) {
		// The server and the schema job use the committed files, from one mount,
		// with one set of connection variables that those files read.
		const mount = "./deploy/temporal:/flowd/temporal:ro"
		schema, server := c.Services["temporal-schema"], c.Services["temporal"]
		for name, s := range map[string]service{"temporal-schema": schema, "temporal": server} {
			if !slices.Contains(s.Volumes, mount) {
				t.Errorf("%s: volumes %v, want %s", name, s.Volumes, mount)
			}
		}
		if got := strings.Join(schema.Entrypoint, " "); got != "/bin/sh /flowd/temporal/setup-schema.sh /etc/temporal" {
			t.Errorf("temporal-schema: entrypoint %q, want deploy/temporal/setup-schema.sh", got)
		}
		cmd := strings.Join(server.Command, " ")
		if !strings.Contains(cmd, "temporal-server --config-file /flowd/temporal/postgres.yaml --allow-no-auth start") {
			t.Errorf("temporal: command %q does not start temporal-server with deploy/temporal/postgres.yaml", cmd)
		}
		config := mustRead(t, "temporal/postgres.yaml")
		script := mustRead(t, "temporal/setup-schema.sh")
		for k, v := range schema.Environment {
			if server.Environment[k] != v {
				t.Errorf("temporal: %s=%q, but temporal-schema sets %q", k, server.Environment[k], v)
			}
		}
		for name, s := range map[string]service{"temporal-schema": schema, "temporal": server} {
			for k := range s.Environment {
				if !strings.Contains(config, `env "`+k+`"`) {
					t.Errorf("%s: %s is not read by deploy/temporal/postgres.yaml", name, k)
				}
				if name == "temporal-schema" && !strings.Contains(script, k) {
					t.Errorf("%s: %s is not read by deploy/temporal/setup-schema.sh", name, k)
				}
			}
		}
		if server.Environment["TEMPORAL_BIND_IP"] != "0.0.0.0" {
			t.Errorf("temporal: TEMPORAL_BIND_IP %q, want 0.0.0.0 (the other containers connect to it)", server.Environment["TEMPORAL_BIND_IP"])
		}
	})
}
