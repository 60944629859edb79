package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/flowd/flowd/api"
	"github.com/flowd/flowd/internal/app"
)

// ServeCmd runs flowd.
type ServeCmd struct {
	Addr            string        `default:"127.0.0.1:8080" env:"FLOWD_ADDR" help:"Address of the API and web UI."`
	PublicURL       string        `env:"FLOWD_PUBLIC_URL" help:"The API's URL as flows reach it (system.base_url), e.g. https://flowd.example.com behind a reverse proxy; empty: http://<--addr> (127.0.0.1 for an address that listens on all interfaces)."`
	DataDir         string        `default:"./data" env:"FLOWD_DATA_DIR" help:"Directory for SQLite files, the embedded Temporal's state and stored files."`
	DatabaseURL     string        `env:"FLOWD_DATABASE_URL" help:"postgres://... for PostgreSQL; empty: SQLite in the data dir."`
	TemporalAddress string        `env:"FLOWD_TEMPORAL_ADDRESS" help:"host:port of a Temporal cluster; empty: start the embedded server."`
	TemporalPort    int           `default:"7233" env:"FLOWD_TEMPORAL_PORT" help:"Port of the embedded Temporal server (0 picks a free one)."`
	Namespace       string        `default:"default" env:"FLOWD_TEMPORAL_NAMESPACE" help:"Temporal namespace; registered when missing (see --namespace-retention)."`
	TaskQueue       string        `default:"${default_task_queue}" env:"FLOWD_TASK_QUEUE" help:"Temporal task queue of the workers."`
	Role            string        `default:"all" enum:"all,api,worker" env:"FLOWD_ROLE" help:"all, api or worker, to split them across processes."`
	LogLevel        string        `default:"info" enum:"debug,info,warn,error" env:"FLOWD_LOG_LEVEL" help:"Log level of flowd, its Temporal client and the embedded Temporal server (whose own messages come one level quieter)."`
	LogFormat       string        `default:"text" enum:"text,json" env:"FLOWD_LOG_FORMAT" help:"Log format on stderr: text (key=value) or json (one object per line)."`
	AdminClientID   string        `env:"FLOWD_ADMIN_CLIENT_ID" help:"Bootstrap admin client id (with --admin-secret)."`
	AdminSecret     string        `env:"FLOWD_ADMIN_CLIENT_SECRET" help:"Bootstrap admin client secret."`
	AdminUser       string        `env:"FLOWD_ADMIN_USER" help:"Username of the bootstrap admin user of the web UI (default admin); with --admin-password it is created or reset at every start."`
	AdminPassword   string        `env:"FLOWD_ADMIN_PASSWORD" help:"Password of the bootstrap admin user (at least 12 characters); empty: the first start generates one and prints it once."`
	SessionIdle     time.Duration `default:"12h" env:"FLOWD_SESSION_IDLE" help:"End a browser session that was not used for this long."`
	SessionMax      time.Duration `default:"168h" env:"FLOWD_SESSION_MAX" help:"End every browser session this long after sign-in, however active."`
	SecretKey       string        `env:"FLOWD_SECRET_KEY" help:"Key that encrypts stored secrets: base64 of 32 bytes (openssl rand -base64 32); a comma-separated list rotates keys, the first encrypting. Every process sharing the database needs it. Empty: <data-dir>/secret.key, generated once."`

	BlockPrivateNetworks   *bool         `env:"FLOWD_BLOCK_PRIVATE_NETWORKS" negatable:"" help:"Refuse connector requests to loopback, private and link-local addresses (SSRF guard). Default: on with --temporal-address (production), off for the embedded dev setup."`
	WebhookWait            time.Duration `default:"30s" env:"FLOWD_WEBHOOK_WAIT" help:"How long a webhook call waits for its flow before answering 202 with the execution id."`
	TrustedProxies         []string      `env:"FLOWD_TRUSTED_PROXIES" help:"Addresses or CIDR ranges (10.0.0.0/8,192.168.1.10) of the reverse proxies whose X-Forwarded-For names the client, for rate limits; empty: the connection's address, and the header is ignored."`
	MetricsAddr            string        `env:"FLOWD_METRICS_ADDR" help:"host:port for /metrics and /readyz (200 once the worker polls Temporal) of a worker-only process (--role worker); API processes serve both on --addr."`
	Retention              time.Duration `default:"720h" env:"FLOWD_RETENTION" help:"Delete executions (with their children and logs) that ended longer ago than this; 0 keeps them forever."`
	MaxRuntime             time.Duration `default:"0s" env:"FLOWD_MAX_RUNTIME" help:"End executions that run longer than this with ENDED_ERROR, unless their flow sets max_runtime; 0: no limit."`
	MaxParallel            int           `default:"20" env:"FLOWD_MAX_PARALLEL" help:"How many children (connections, flows) one execution runs at once."`
	ScriptMemoryLimit      string        `default:"256MiB" env:"FLOWD_SCRIPT_MEMORY_LIMIT" help:"Memory one script may allocate (e.g. 256MiB, 1GiB); past it the script's sandbox is stopped and its execution ends ENDED_ERROR."`
	CachedExecutions       int           `default:"0" env:"FLOWD_CACHED_EXECUTIONS" help:"Executions a worker keeps in memory between steps, each with its script's sandbox process; others are replayed from their history when they wake. 0: as many as half the machine's memory holds at --script-memory-limit each, between 16 and 128."`
	TemporalConnectTimeout time.Duration `default:"60s" env:"FLOWD_TEMPORAL_CONNECT_TIMEOUT" help:"How long to wait at startup for Temporal to answer before giving up."`
	NamespaceRetention     time.Duration `default:"168h" env:"FLOWD_NAMESPACE_RETENTION" help:"How long Temporal keeps the history of ended executions, for the namespace that flowd registers when it is missing; 0: never register (the namespace must exist)."`
	SandboxBinary          string        `env:"FLOWD_SANDBOX_BINARY" help:"Program that runs scripts in sandbox processes; empty: flowd-sandbox beside flowd if present, else flowd itself (larger processes)."`

	OIDCIssuer        string `name:"oidc-issuer" env:"FLOWD_OIDC_ISSUER" help:"Issuer URL of an OpenID Connect provider for single sign-on (e.g. https://login.example.com/realms/main); empty: no single sign-on. Register <public URL>/api/v1/auth/oidc/callback as the redirect URI there (see docs/sso.md)."`
	OIDCClientID      string `name:"oidc-client-id" env:"FLOWD_OIDC_CLIENT_ID" help:"Client id of flowd at the OpenID Connect provider."`
	OIDCClientSecret  string `name:"oidc-client-secret" env:"FLOWD_OIDC_CLIENT_SECRET" help:"Client secret of flowd at the OpenID Connect provider (empty for a public client; PKCE is always used)."`
	OIDCName          string `name:"oidc-name" default:"SSO" env:"FLOWD_OIDC_NAME" help:"Name of the provider on the sign-in page (\"Sign in with <name>\")."`
	OIDCRoleClaim     string `name:"oidc-role-claim" default:"groups" env:"FLOWD_OIDC_ROLE_CLAIM" help:"ID token claim (a list or a string; dots reach into objects, e.g. realm_access.roles) whose values --oidc-role-map maps to roles."`
	OIDCRoleMap       string `name:"oidc-role-map" env:"FLOWD_OIDC_ROLE_MAP" help:"Values of the role claim and their roles, e.g. flowd-admins=admin,flowd-editors=editor; a user with several gets the most privileged. When set, the provider decides a user's role at every sign-in."`
	OIDCDefaultRole   string `name:"oidc-default-role" enum:",admin,editor,runner,viewer" default:"" env:"FLOWD_OIDC_DEFAULT_ROLE" help:"Role of a user whose claim maps to no role; empty: such users are refused."`
	OIDCAutoProvision bool   `name:"oidc-auto-provision" env:"FLOWD_OIDC_AUTO_PROVISION" help:"Create a user at the first single sign-on; off: only users an admin created with source oidc can sign in."`
}

// Run starts everything and blocks until ctx is cancelled (SIGINT/SIGTERM), then
// drains: the HTTP server finishes its requests and the worker its tasks; running
// executions stay durable in Temporal and resume on the next start.
func (s *ServeCmd) Run(ctx context.Context) error {
	log := newLogger(os.Stderr, s.LogFormat, s.LogLevel)
	memLimit, err := parseBytes(s.ScriptMemoryLimit)
	if err != nil {
		return fmt.Errorf("--script-memory-limit: %w", err)
	}
	roleMap, err := s.roleMap()
	if err != nil {
		return err
	}
	retention := s.NamespaceRetention
	if retention == 0 {
		retention = -1 // never register
	}
	a, err := app.Start(ctx, app.Config{
		TemporalConnectTimeout: s.TemporalConnectTimeout, NamespaceRetention: retention,
		ScriptMemoryLimit: memLimit, SandboxBinary: s.SandboxBinary, CachedExecutions: s.CachedExecutions,
		Addr: s.Addr, PublicURL: s.PublicURL, DataDir: s.DataDir, DatabaseURL: s.DatabaseURL,
		TemporalAddress: s.TemporalAddress, TemporalPort: s.TemporalPort, Namespace: s.Namespace,
		TaskQueue: s.TaskQueue, Role: s.Role, AdminClientID: s.AdminClientID, AdminSecret: s.AdminSecret, SecretKey: s.SecretKey, Log: log,
		AdminUser: s.AdminUser, AdminPassword: s.AdminPassword, SessionIdle: s.SessionIdle, SessionMax: s.SessionMax,
		OIDCIssuer: s.OIDCIssuer, OIDCClientID: s.OIDCClientID, OIDCClientSecret: s.OIDCClientSecret, OIDCName: s.OIDCName,
		OIDCRoleClaim: s.OIDCRoleClaim, OIDCRoleMap: roleMap, OIDCDefaultRole: s.OIDCDefaultRole, OIDCAutoProvision: s.OIDCAutoProvision,
		TrustedProxies:       s.TrustedProxies,
		BlockPrivateNetworks: s.BlockPrivateNetworks, WebhookWait: s.WebhookWait, Retention: s.Retention, MaxParallel: s.MaxParallel, MaxRuntime: s.MaxRuntime, MetricsAddr: s.MetricsAddr,
	})
	if err != nil {
		return err
	}
	if a.URL != "" {
		fmt.Fprintf(os.Stderr, "\nflowd is running at %s\n", a.URL)
		if a.AdminSecret != "" && s.AdminSecret == "" {
			fmt.Fprintf(os.Stderr, "\nCreated the admin API client (shown only this once; keep it):\n  export FLOWD_CLIENT_ID=%s\n  export FLOWD_CLIENT_SECRET=%s\n\n", a.AdminClientID, a.AdminSecret)
		}
		if a.AdminPassword != "" {
			fmt.Fprintf(os.Stderr, "\nCreated the admin user of the web UI (password shown only this once; keep it, or change it in the users page):\n  username: %s\n  password: %s\n\n", a.AdminUser, a.AdminPassword)
		}
	}
	<-ctx.Done()
	log.Info("shutting down: draining requests and the worker; running executions resume on the next start")
	a.Stop()
	return nil
}

// newLogger returns the one logger of the process: flowd, the Temporal SDK and the
// embedded Temporal server write through its handler (format "text" or "json"). It
// also becomes slog's default, so that a library that logs with the standard log
// package writes to the same stream.
func newLogger(w io.Writer, format, level string) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(level)) // kong has checked it against the enum
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	log := slog.New(h)
	slog.SetDefault(log)
	return log
}

// parseBytes reads a size such as 256MiB, 1GiB or 512MB (go-humanize's units).
func parseBytes(s string) (int64, error) {
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: write a number with a unit, like 256MiB or 1GiB", s)
	}
	if n < 16<<20 || n > 1<<40 {
		return 0, fmt.Errorf("%q is out of range: give between 16MiB and 1TiB", s)
	}
	return int64(n), nil
}

// Validate checks the flags that can be checked before anything starts (kong calls
// it after parsing).
func (s *ServeCmd) Validate() error {
	if _, err := api.ParseTrustedProxies(s.TrustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if _, err := s.roleMap(); err != nil {
		return err
	}
	if s.TemporalConnectTimeout <= 0 {
		return fmt.Errorf("--temporal-connect-timeout must be above 0, like 60s")
	}
	if s.NamespaceRetention < 0 {
		return fmt.Errorf("--namespace-retention must be 0 (never register) or a duration like 168h")
	}
	if s.SessionIdle <= 0 || s.SessionMax <= 0 {
		return fmt.Errorf("--session-idle and --session-max must be above 0, like 12h and 168h")
	}
	return nil
}

// roleMap reads --oidc-role-map.
func (s *ServeCmd) roleMap() (map[string]string, error) {
	roles, err := api.ParseRoleMap(s.OIDCRoleMap)
	if err != nil {
		return nil, fmt.Errorf("--oidc-role-map (FLOWD_OIDC_ROLE_MAP): %w", err)
	}
	m := make(map[string]string, len(roles))
	for group, role := range roles {
		m[group] = string(role)
	}
	return m, nil
}
