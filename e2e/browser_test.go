package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowd/flowd/internal/app"
)

// TestBrowser drives the web UI in headless Chromium (web/e2e/run.mjs, Playwright)
// against a real flowd: sign in as a user (created by the admin API client), write and save a flow, draft-run it with live logs
// (the revision stays), replay an edited script until it diverges, the unsaved-edit
// guard, re-run and replay from the execution page and the list, Run from the flow
// list, live tries of a connect to a closed port, a runtime error marked at its line,
// a form from declared inputs with a required field, the execution tree with child
// logs inline, a this.message form reached from "Waiting for you", a saved connector
// from "Requires configuration" to healthy, a webhook and an API client (secrets
// shown once), the other configuration pages, cancel a sleeping run, the executions
// filters (top-level by default) and paging, every main page at 390 px without
// sideways scrolling; who started a run and who wrote a revision, a second tab and a
// reload in the same session, CSRF refusals (a fetch without the header, a forged form
// from another origin), the users page, a viewer without Save or Run, the user's
// sessions with a revoke, the audit page, sign-out seen by the other tab, single
// sign-on through a real OpenID Connect provider process on a second flowd, and an API
// client's keyboard sign-in with token renewal (web/README.md lists the steps). It needs
// Node with web/node_modules installed and FLOWD_TEST_CHROMIUM (the Chromium binary),
// which .ci/run sets. Screenshots (editor.png, execution-tree.png, live-tries.png,
// inputs-form.png, narrow-flows.png, connector.png, failure.png) go to
// FLOWD_TEST_ARTIFACTS, or a temporary directory when it is unset.
func TestBrowser(t *testing.T) {
	chromium := os.Getenv("FLOWD_TEST_CHROMIUM")
	if chromium == "" {
		t.Skip("FLOWD_TEST_CHROMIUM is not set (.ci/run sets it to /usr/bin/chromium)")
	}
	b := backends[0]
	// A second flowd with single sign-on through a real provider process; the next
	// ID token names sso user in the group that maps to editor.
	provider := startOIDCProvider(t)
	_, sso := startSSOFlowd(t, b, provider, app.Config{OIDCAutoProvision: true, OIDCRoleMap: map[string]string{"flowd-editors": "editor"}})
	ssoUser := unique("sso_ada")
	provider.SetClaims(t, map[string]any{"preferred_username": ssoUser, "groups": []string{"flowd-editors"}})
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"type":"success","value":{"id":1,"joke":"A browser walks into a bar and renders the drink."}}`))
	}))
	defer target.Close()
	artifacts := os.Getenv("FLOWD_TEST_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	cmd := exec.Command("node", filepath.Join("..", "web", "e2e", "run.mjs"))
	cmd.Env = append(os.Environ(),
		"FLOWD_URL="+b.app.URL, "FLOWD_CLIENT_ID="+adminID, "FLOWD_CLIENT_SECRET="+adminSecret,
		"TARGET_URL="+target.URL, "CHROMIUM_PATH="+chromium, "ARTIFACTS_DIR="+artifacts,
		"SSO_FLOWD_URL="+sso.base, "SSO_NAME=Mock IdP", "SSO_USER="+ssoUser, "SSO_ROLE=editor")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("browser test failed: %v (its output is above; screenshots in %s)", err, artifacts)
		}
	case <-time.After(8 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("the browser test did not finish within 8 minutes")
	}
}
