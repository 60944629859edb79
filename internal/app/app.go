// Package app assembles flowd from its parts: the store, Temporal (embedded or a
// cluster), a worker and the HTTP API. cmd/flowd and the end-to-end tests use it, so
// that the tests run exactly what a user runs.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/flowd/flowd/api"
	"github.com/flowd/flowd/connectors/oauth"
	"github.com/flowd/flowd/connectors/rest"
	"github.com/flowd/flowd/embedded"
	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/sandbox"
	"github.com/flowd/flowd/secrets"
	"github.com/flowd/flowd/store"
	"github.com/flowd/flowd/web"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Config is what flowd runs with; cmd/flowd fills it from flags and environment.
type Config struct {
	Addr            string // API and web UI; "127.0.0.1:0" picks a free port
	PublicURL       string // system.base_url; empty: http://<the listener's address> (loopback for 0.0.0.0)
	DataDir         string
	DatabaseURL     string // empty: SQLite in DataDir
	TemporalAddress string // empty: start the embedded server
	TemporalPort    int    // of the embedded server; 0 picks a free one
	Namespace       string
	// NamespaceRetention is how long Temporal keeps the history of closed workflows
	// in the namespace that flowd registers when it is missing (0: 7 days; negative:
	// never register, the namespace must exist).
	NamespaceRetention time.Duration
	// TemporalConnectTimeout is how long Start waits for Temporal to answer (0: 60 s).
	TemporalConnectTimeout time.Duration
	TaskQueue              string
	Role                   string // all, api or worker
	AdminClientID          string
	AdminSecret            string
	// AdminUser and AdminPassword create or reset that admin user at every start
	// (FLOWD_ADMIN_USER, FLOWD_ADMIN_PASSWORD); without a password, the first start
	// creates AdminUser (empty: "admin") with a random password.
	AdminUser, AdminPassword string
	// SessionIdle and SessionMax end browser sessions not used for that long, and
	// any session that long after sign-in (0: api.DefaultSessionIdle, DefaultSessionMax).
	SessionIdle, SessionMax time.Duration
	// OIDCIssuer turns on single sign-on with that OpenID Connect provider, with
	// OIDCClientID and OIDCClientSecret; the redirect URI to register there is
	// <PublicURL>/api/v1/auth/oidc/callback. OIDCName is the button's label.
	OIDCIssuer, OIDCClientID, OIDCClientSecret, OIDCName string
	// OIDCRoleClaim is the ID token claim (empty: groups) whose values OIDCRoleMap
	// maps to roles; OIDCDefaultRole is the role of a user whose values map to none
	// (empty: such users are refused). OIDCAutoProvision creates users at their first
	// sign-in. See api.OIDCConfig.
	OIDCRoleClaim     string
	OIDCRoleMap       map[string]string
	OIDCDefaultRole   string
	OIDCAutoProvision bool
	// BlockPrivateNetworks keeps connector requests away from loopback, private and
	// link-local addresses (SSRF); nil: on with TemporalAddress (production), off
	// for the embedded development setup.
	BlockPrivateNetworks *bool
	// WebhookWait is how long a webhook call waits for its flow; 0: 30 s.
	WebhookWait time.Duration
	// TrustedProxies are addresses or CIDR ranges of reverse proxies whose
	// X-Forwarded-For names the client (--trusted-proxies); empty: the socket's peer.
	TrustedProxies []string
	// MetricsAddr serves /metrics of a worker-only process (API processes serve it
	// on the API's address).
	MetricsAddr string
	// Retention deletes executions that ended longer ago than this (0 keeps them).
	Retention time.Duration
	// MaxParallel bounds the children one execution runs at once (0: 20).
	MaxParallel int
	// MaxRuntime ends executions that run longer, unless their flow sets its own
	// max_runtime (0: no limit).
	MaxRuntime time.Duration
	// SecretKey seals stored secrets: base64 32-byte keys, comma-separated, the
	// first sealing (FLOWD_SECRET_KEY). Empty: the key in DataDir/secret.key,
	// generated on the first start.
	SecretKey string
	// ScriptMemoryLimit is what one script may allocate, in bytes (0: 256 MiB); past
	// it the script's sandbox is stopped and the execution ends ENDED_ERROR.
	ScriptMemoryLimit int64
	// SandboxBinary is the program that runs scripts (empty: flowd-sandbox beside the
	// running executable, else the executable itself).
	SandboxBinary string
	// CachedExecutions is how many executions a worker keeps in memory between their
	// steps, each with its script's sandbox (0: sandbox.DefaultCachedExecutions, so
	// that their memory limits fit in half the machine); an execution dropped from the
	// cache is replayed from its history when it wakes.
	CachedExecutions int
	// Scripts overrides the sandbox processes: engine.InProcess{} runs scripts in
	// the worker with no memory limit, for benchmarks that measure what the sandbox
	// costs. Never set it in production.
	Scripts engine.ScriptRunner
	Log     *slog.Logger
}

// App is a running flowd.
type App struct {
	// URL is the API's base URL (empty for a worker-only process).
	URL string
	// TemporalAddress is the Temporal frontend in use.
	TemporalAddress string
	// AdminClientID and AdminSecret are set when this start created the bootstrap admin
	// (or it was given in Config).
	AdminClientID, AdminSecret string
	// AdminUser and AdminPassword are set when this start created the first admin
	// user with a random password (to print once).
	AdminUser, AdminPassword string

	Store    *store.Store
	Engine   *engine.Engine
	Temporal client.Client
	Metrics  *api.Metrics
	// Sandboxes runs the worker's scripts (nil in an API-only process).
	Sandboxes *sandbox.Pool

	log       *slog.Logger
	namespace string
	resolver  *engine.Resolver
	closers   []func()
	// workerReady is set once this process's worker polls Temporal (/readyz of a
	// worker-only process).
	workerReady atomic.Bool
}

// Start starts flowd as configured. Stop it with Stop.
func Start(ctx context.Context, cfg Config) (a *App, err error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if cfg.Role == "" {
		cfg.Role = "all"
	}
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = engine.DefaultTaskQueue
	}
	if cfg.TemporalConnectTimeout <= 0 {
		cfg.TemporalConnectTimeout = 60 * time.Second
	}
	if cfg.NamespaceRetention == 0 {
		cfg.NamespaceRetention = DefaultNamespaceRetention
	}
	a = &App{log: cfg.Log}
	started := a // "return nil, err" sets a to nil
	defer func() {
		if err != nil {
			started.Stop() // what has started, in reverse order
		}
	}()

	// What is quick to check comes first, so that a mistake in it fails at once.
	keys, err := secrets.Load(cfg.SecretKey, cfg.DataDir, cfg.Log)
	if err != nil {
		if cfg.SecretKey != "" {
			return nil, fmt.Errorf("FLOWD_SECRET_KEY (--secret-key): %w", err)
		}
		return nil, fmt.Errorf("load the key that encrypts secrets: %w", err)
	}
	if u, perr := url.Parse(cfg.PublicURL); cfg.PublicURL != "" && (perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		return nil, fmt.Errorf("--public-url (FLOWD_PUBLIC_URL) %q must be an absolute http or https URL, like https://flowd.example.com", cfg.PublicURL)
	}
	var ln net.Listener
	if cfg.Role != "worker" {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("listen on %s: %w (is another flowd running? pick another address with --addr)", cfg.Addr, err)
		}
		a.closers = append(a.closers, func() { _ = ln.Close() })
	}

	if a.Store, err = store.Open(ctx, cfg.DatabaseURL, cfg.DataDir); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, func() { _ = started.Store.Close() })
	cfg.Log.Info("database ready", "dialect", a.Store.Dialect())

	a.TemporalAddress = cfg.TemporalAddress
	if a.TemporalAddress == "" {
		srv, err := embedded.Start(embedded.Options{DatabaseFile: filepath.Join(cfg.DataDir, "temporal.db"), Port: cfg.TemporalPort, Namespace: cfg.Namespace, Log: cfg.Log})
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, srv.Stop)
		a.TemporalAddress = srv.Address()
		cfg.Log.Info("embedded Temporal server started; attach the Temporal CLI or UI with --address "+a.TemporalAddress, "address", a.TemporalAddress)
	}
	if a.Temporal, err = dialTemporal(ctx, a.TemporalAddress, cfg.Namespace, cfg.TemporalConnectTimeout, cfg.Log); err != nil {
		return nil, err
	}
	a.closers = append(a.closers, a.Temporal.Close)
	a.namespace = cfg.Namespace
	if err := ensureNamespace(ctx, a.Temporal, cfg.Namespace, cfg.NamespaceRetention, cfg.TemporalConnectTimeout, cfg.Log); err != nil {
		if cfg.Role != "api" {
			return nil, err // a worker cannot poll a namespace that does not exist
		}
		// The API can start: /readyz answers 503 with this until someone creates it.
		cfg.Log.Error("flowd is not ready", "error", err)
	}
	a.resolver = &engine.Resolver{Secrets: a.Store, Saved: a.Store, Keyring: keys}
	// One REST connector serves every call, so that OAuth2 tokens are cached per
	// grant across executions.
	// The tokens are also shared through the database by all processes of a
	// deployment, sealed with the secrets key.
	tokens := &oauth.Cache{Shared: &engine.SharedTokens{Store: a.Store, Keys: keys}}
	a.resolver.Connectors = map[string]engine.Connector{"REST": &rest.Connector{Grants: a.resolver.Grant, Tokens: tokens}}
	a.Metrics = api.NewMetrics()
	instrumentConnectors(a.resolver.Connectors, cfg, a.Metrics, cfg.Log)

	a.Engine = &engine.Engine{Store: a.Store, Temporal: a.Temporal, TaskQueue: cfg.TaskQueue, Log: cfg.Log, MaxParallel: cfg.MaxParallel, MaxRuntime: cfg.MaxRuntime,
		WorkersInProcess: cfg.Role == "all", BaseURL: baseURL(cfg.PublicURL, ln)}
	a.Metrics.QueueDepth(queueDepth(a.Temporal, cfg.Namespace, cfg.TaskQueue))
	if cfg.Role == "worker" && cfg.MetricsAddr != "" {
		if err := a.serveMetrics(cfg); err != nil {
			return nil, err
		}
	}
	if cfg.Role != "api" {
		acts := &engine.Activities{
			Store:      a.Store,
			Connectors: a.resolver.Connectors,
			Resolver:   a.resolver,
			Log:        cfg.Log,
			Notify:     a.Engine.Ended,
			Observer:   a.Metrics,
			State:      a.Store,
			Answers:    engine.TemporalAnswers{Client: a.Temporal},
		}
		scripts := cfg.Scripts
		if scripts == nil {
			if err := a.startSandboxes(cfg, 0); err != nil {
				return nil, err
			}
			scripts = a.Sandboxes
		}
		if cfg.CachedExecutions <= 0 {
			cfg.CachedExecutions = sandbox.DefaultCachedExecutions(cfg.ScriptMemoryLimit)
		}
		// Process-wide in the Temporal SDK; each cached execution holds a sandbox.
		worker.SetStickyWorkflowCacheSize(cfg.CachedExecutions)
		w, err := startWorker(ctx, cfg, func() worker.Worker { return engine.NewWorker(a.Temporal, cfg.TaskQueue, acts, scripts) })
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, w.Stop)
		a.workerReady.Store(true)
		cfg.Log.Info("worker started", "task_queue", a.Engine.TaskQueue)
	}
	if cfg.Role != "worker" && cfg.TemporalAddress == "" {
		seedExamples(ctx, a.Store, cfg.Log)
	}
	if cfg.Role != "worker" {
		if err := a.startAPI(ctx, cfg, ln); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// startWorker starts a worker made by newWorker. Temporal answered a moment ago, but
// may be restarting: while it cannot be reached, startWorker tries again with a new
// worker every second, for up to cfg.TemporalConnectTimeout, instead of ending the
// process.
func startWorker(ctx context.Context, cfg Config, newWorker func() worker.Worker) (worker.Worker, error) {
	deadline := time.Now().Add(cfg.TemporalConnectTimeout)
	for {
		w := newWorker()
		err := w.Start()
		if err == nil {
			return w, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("start the worker on task queue %q: %w (is Temporal up? flowd tried for %s, --temporal-connect-timeout)", cfg.TaskQueue, err, cfg.TemporalConnectTimeout)
		}
		cfg.Log.Warn("Temporal did not answer the worker; trying again", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// startSandboxes starts the pool of sandbox processes that run and check scripts
// (spare 0: the pool's default).
func (a *App) startSandboxes(cfg Config, spare int) error {
	pool := &sandbox.Pool{Binary: cfg.SandboxBinary, MemoryLimit: cfg.ScriptMemoryLimit, Spare: spare, Log: cfg.Log.With("component", "sandbox")}
	if err := pool.Start(); err != nil {
		return fmt.Errorf("%w (flowd runs and checks every script in a sandbox process; set --sandbox-binary to the flowd-sandbox program)", err)
	}
	a.closers = append(a.closers, pool.Close)
	a.Sandboxes = pool
	cfg.Log.Info("script sandboxes ready", "program", pool.Path(), "memory_limit_bytes", pool.MemoryLimit)
	return nil
}

// Stop drains and stops everything in reverse start order: the HTTP server finishes
// its requests, the worker its tasks; running executions stay durable in Temporal.
func (a *App) Stop() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// startAPI serves the API on ln.
func (a *App) startAPI(ctx context.Context, cfg Config, ln net.Listener) error {
	key, err := api.LoadSigningKey(ctx, a.Store, a.resolver.Keyring, cfg.Log)
	if err != nil {
		return fmt.Errorf("load the token signing key: %w", err)
	}
	id, secret, err := api.Bootstrap(ctx, a.Store, cfg.AdminClientID, cfg.AdminSecret)
	if err != nil {
		return fmt.Errorf("create the bootstrap admin client: %w", err)
	}
	if secret != "" {
		a.AdminClientID, a.AdminSecret = id, secret
	}
	if a.AdminUser, a.AdminPassword, err = api.BootstrapUser(ctx, a.Store, cfg.AdminUser, cfg.AdminPassword); err != nil {
		return fmt.Errorf("create the bootstrap admin user: %w", err)
	}
	if a.Sandboxes == nil {
		// An API-only process checks saved scripts in sandboxes too; one spare does.
		if err := a.startSandboxes(cfg, 1); err != nil {
			return err
		}
	}
	srv := &api.Server{
		Scripts: a.Sandboxes,
		Engine:  a.Engine, Store: a.Store, State: a.Store, Auth: &api.Auth{Store: a.Store, Key: key, SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax}, Resolver: a.resolver, Log: cfg.Log, Web: web.Assets(),
		Ready:       a.ready,
		Unavailable: unavailable,
	}
	srv.Webhooks, srv.Schedules, srv.WebhookWait, srv.Metrics = a.Store, a.Store, cfg.WebhookWait, a.Metrics
	if srv.OIDC, err = newOIDC(cfg, a.Engine.BaseURL, a.resolver.Keyring); err != nil {
		return err
	}
	if srv.TrustedProxies, err = api.ParseTrustedProxies(cfg.TrustedProxies); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if len(srv.TrustedProxies) > 0 {
		cfg.Log.Info("client addresses come from X-Forwarded-For when the request comes through a trusted proxy", "trusted_proxies", srv.TrustedProxies)
	}
	// Caps on what a caller can hold without credentials: header size and time, and
	// idle keep-alive connections (a streamed response is not idle).
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: api.MaxHeaderBytes, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			cfg.Log.Error("HTTP server stopped", "error", err)
		}
	}()
	a.closers = append(a.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = httpSrv.Shutdown(sctx)
	})
	a.URL = "http://" + ln.Addr().String()
	cfg.Log.Info("API listening", "url", a.URL)
	rctx, stopRetention := context.WithCancel(context.Background())
	a.closers = append(a.closers, stopRetention)
	go runRetention(rctx, a.Store, cfg.Retention, cfg.Log)
	go runSessionCleanup(rctx, srv.Auth, cfg.Log)
	// Ends the rows whose workflow Temporal closed without flowd recording it
	// (engine/reconcile.go); safe to run in every API process at once.
	rec := &engine.Reconciler{Store: a.Store, Temporal: a.Temporal, Log: cfg.Log.With("component", "reconciler"),
		Corrected: a.Metrics.ReconcileCounter(), Ended: a.Engine.Ended}
	go rec.Run(rctx)
	return nil
}

// dialTemporal connects to Temporal, retrying for up to timeout while a just-started
// server comes up. Its error names the address and what to check.
func dialTemporal(ctx context.Context, hostPort, namespace string, timeout time.Duration, log *slog.Logger) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var cause error // of the last try that the deadline did not cut short
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Namespace: namespace,
			Logger: sdkLogger(log)})
		if err == nil {
			return c, nil
		}
		if ctx.Err() != nil {
			if cause == nil {
				cause = err
			}
			return nil, fmt.Errorf("Temporal at %s did not answer within %s: %v (is it running? check --temporal-address, or wait longer with --temporal-connect-timeout)", hostPort, timeout, cause)
		}
		cause = err
		log.Warn("waiting for Temporal", "address", hostPort, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// DefaultNamespaceRetention is how long a namespace that flowd registers keeps the
// histories of closed workflows.
const DefaultNamespaceRetention = 7 * 24 * time.Hour

// ensureNamespace registers namespace, keeping closed workflows for retention, when
// Temporal does not have it (a negative retention never registers), and waits up to
// timeout until Temporal serves it. It returns an error that names the namespace and
// how to create it when it is missing and cannot be registered.
func ensureNamespace(ctx context.Context, c client.Client, namespace string, retention, timeout time.Duration, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	svc := c.WorkflowService()
	_, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	var notFound *serviceerror.NamespaceNotFound
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &notFound):
		return fmt.Errorf("look up the Temporal namespace %q: %v (is Temporal running? check --temporal-address)", namespace, err)
	case retention < 0:
		return namespaceMissing(namespace, "flowd registers none with --namespace-retention 0")
	}
	_, err = svc.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        namespace,
		Description:                      "registered by flowd",
		WorkflowExecutionRetentionPeriod: durationpb.New(retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) { // another flowd starting beside this one may have won
		return namespaceMissing(namespace, fmt.Sprintf("Temporal refused to register it: %v", err))
	}
	log.Info("registered the Temporal namespace", "namespace", namespace, "retention", retention)
	// Temporal's frontends learn of a new namespace from their cache, which is
	// refreshed every few seconds; a worker polling before that is refused.
	for {
		_, err := c.DescribeTaskQueue(ctx, "flowd-namespace-check", enums.TASK_QUEUE_TYPE_WORKFLOW)
		if !errors.As(err, &notFound) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the Temporal namespace %q was registered but Temporal did not serve it within %s; start flowd again", namespace, timeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// namespaceMissing is the error of a namespace that does not exist, with why flowd
// did not register it.
func namespaceMissing(namespace, why string) error {
	return fmt.Errorf("the Temporal namespace %q does not exist and %s: create it with `temporal operator namespace create --namespace %s --retention 7d`, or name an existing one with --namespace", namespace, why, namespace)
}

// ready reports whether this flowd can serve: the database answers, and Temporal
// serves its namespace.
func (a *App) ready(ctx context.Context) error {
	if err := a.Store.Ping(ctx); err != nil {
		return fmt.Errorf("the database is unreachable: %w", err)
	}
	_, err := a.Temporal.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: a.namespace})
	var notFound *serviceerror.NamespaceNotFound
	switch {
	case errors.As(err, &notFound):
		return namespaceMissing(a.namespace, "flowd could not register it")
	case err != nil:
		return fmt.Errorf("Temporal at %s is unreachable: %w", a.TemporalAddress, err)
	}
	return nil
}

// unavailable names what err says cannot be reached, for the API's 503 answers.
func unavailable(err error) string {
	var down *serviceerror.Unavailable
	switch {
	case store.Unreachable(err):
		return "the database"
	case errors.As(err, &down):
		return "Temporal"
	}
	return ""
}

// serveMetrics serves /metrics on cfg.MetricsAddr for a worker-only process.
func (a *App) serveMetrics(cfg Config) error {
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen on %s for metrics: %w (pick another with --metrics-addr)", cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.workerReady.Load() {
			http.Error(w, "the worker has not started yet: it waits for Temporal (see the log)", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok: the worker polls Temporal")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	a.closers = append(a.closers, func() { _ = srv.Close() })
	cfg.Log.Info("metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	return nil
}

// baseURL is the API's URL as flows reach it (system.base_url): public when set, else
// the listener's address, with loopback for an address that listens on all
// interfaces; "" without a listener (a worker-only process).
func baseURL(public string, ln net.Listener) string {
	if public != "" {
		return strings.TrimRight(public, "/")
	}
	if ln == nil {
		return ""
	}
	ap, err := netip.ParseAddrPort(ln.Addr().String())
	if err != nil {
		return "http://" + ln.Addr().String()
	}
	if ap.Addr().IsUnspecified() {
		ap = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ap.Port())
	}
	return "http://" + ap.String()
}
