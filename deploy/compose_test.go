// Package deploy checks the deployment files at the repository root.
package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   map[string]any    `yaml:"depends_on"`
	} `yaml:"services"`
}

// TestCompose parses docker-compose.yml (no Docker engine runs in CI) and checks that it
// deploys what the README says, with flags and environment variables flowd knows.
func TestCompose(t *testing.T) {
	data, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	serve, err := os.ReadFile("../cmd/flowd/serve.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"postgres", "temporal", "flowd-api", "flowd-worker"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("service %s is missing", name)
		}
	}
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
			if !strings.Contains(string(serve), `env:"`+k+`"`) {
				t.Errorf("%s: environment variable %s is not one that flowd reads (cmd/flowd/serve.go)", name, k)
			}
		}
		if !strings.HasPrefix(s.Environment["FLOWD_DATABASE_URL"], "postgres://") || s.Environment["FLOWD_TEMPORAL_ADDRESS"] != "temporal:7233" {
			t.Errorf("%s: must use PostgreSQL and the temporal service: %v", name, s.Environment)
		}
		for _, dep := range []string{"postgres", "temporal"} {
			if _, ok := s.DependsOn[dep]; !ok {
				t.Errorf("%s does not depend on %s", name, dep)
			}
		}
	}
	// Rate limits take X-Forwarded-For only from proxies the operator names: the API
	// passes the setting through and trusts none unless it is set.
	if got := c.Services["flowd-api"].Environment["FLOWD_TRUSTED_PROXIES"]; got != "${FLOWD_TRUSTED_PROXIES:-}" {
		t.Errorf("flowd-api: FLOWD_TRUSTED_PROXIES is %q, want ${FLOWD_TRUSTED_PROXIES:-} (no proxy trusted unless the operator sets one)", got)
	}
	if _, err := os.Stat("../Dockerfile"); err != nil {
		t.Errorf("the services build from a Dockerfile: %v", err)
	}
	// The Dockerfile builds with the Go version of go.mod.
	mod, _ := os.ReadFile("../go.mod")
	docker, _ := os.ReadFile("../Dockerfile")
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if goVer == nil || !strings.Contains(string(docker), "golang:"+string(goVer[1])) {
		t.Errorf("Dockerfile's golang image does not match go.mod's Go %s", goVer[1])
	}
}
