// Package api serves flowd's HTTP API with Echo: authentication, flows, executions and
// the web UI's static files. Every route states the role it needs.
package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/flowd/flowd/engine"
)

// Server holds the API's dependencies.
type Server struct {
	Engine *engine.Engine
	Store  engine.Store
	// State holds settings and files.
	State engine.StateStore
	Auth  *Auth
	// Resolver serves saved connectors, secrets and OAuth2 grants.
	Resolver *engine.Resolver
	Log      *slog.Logger
	// Web is the web UI's built assets (index.html at the root); nil serves none.
	Web fs.FS
	// Ready reports whether the engine can serve (database and Temporal reachable).
	Ready func(ctx context.Context) error
	// Unavailable names what an error says cannot be reached ("the database"), or
	// returns ""; such errors answer 503 with Retry-After (api/errors.go).
	Unavailable func(err error) string

	// Webhooks and Schedules store the triggers; nil answers 503 on their routes.
	Webhooks  engine.WebhookStore
	Schedules engine.ScheduleStore
	// WebhookWait is how long a webhook call waits for its flow before answering 202;
	// 0 is DefaultWebhookWait.
	WebhookWait time.Duration
	// Metrics, when set, counts requests and serves GET /metrics.
	Metrics *Metrics
	// TrustedProxies may name the client in X-Forwarded-For (--trusted-proxies);
	// empty: the client is the socket's peer (see ipExtractor).
	TrustedProxies []netip.Prefix
	// Audit keeps the audit log (api/audit.go); nil: the Store, when it keeps one.
	Audit engine.AuditLog
	// Scripts checks scripts when they are saved (compiling them) in a sandbox
	// process with a time and memory limit; nil checks them in this process.
	Scripts ScriptChecker
	// OIDC signs users in through an OpenID Connect provider; nil when single
	// sign-on is not configured (its routes then answer 404).
	OIDC *OIDC
}

// ScriptChecker runs scripting.CheckScript where a script cannot hurt the API: a
// *scripting.ScriptError is a refusal, another error a checker that failed.
type ScriptChecker interface {
	Check(name, src string) error
}

// maxBody bounds request bodies: scripts are at most 512 KiB, inputs at most a few MB.
const maxBody = "4M"

// Handler returns the Echo instance with all routes.
func (s *Server) Handler() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(s.Log, s.Unavailable)
	e.IPExtractor = ipExtractor(s.TrustedProxies)
	// Before routing, so that every response carries them, 404s and 414s included.
	e.Pre(securityHeaders(), limitURL)
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit(maxBody))
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod: true, LogURIPath: true, LogStatus: true, LogLatency: true, LogError: true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			s.Log.Debug("request", "method", v.Method, "path", v.URIPath, "status", v.Status, "latency", v.Latency)
			return nil
		},
	}))

	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	demoRoutes(e)

	v1 := e.Group("/api/v1")
	v1.POST("/auth/token", s.Auth.token)
	v1.GET("/auth/oidc/login", s.oidcLogin)
	v1.GET("/auth/oidc/callback", s.oidcCallback)
	s.openAPIRoutes(v1)
	s.metricsRoutes(e)

	authed := v1.Group("", s.Auth.authenticate)
	viewer, runner, editor, admin := require(engine.RoleViewer), require(engine.RoleRunner), require(engine.RoleEditor), require(engine.RoleAdmin)

	authed.GET("/flows", s.listFlows, viewer)
	authed.GET("/flows/:name", s.getFlow, viewer)
	authed.PUT("/flows/:name", s.putFlow, editor)
	authed.DELETE("/flows/:name", s.deleteFlow, editor)
	authed.GET("/flows/:name/revisions", s.flowRevisions, viewer)
	authed.POST("/flows/:name/executions", s.startFlow, runner)
	authed.POST("/flows/:name/draft-runs", s.draftRun, editor)

	authed.GET("/executions", s.listExecutions, viewer)
	authed.GET("/executions/:id", s.getExecution, viewer)
	authed.GET("/executions/:id/children", s.children, viewer)
	authed.GET("/executions/:id/logs", s.logs, viewer)
	authed.POST("/executions/:id/replay", s.replayExecution, editor)
	authed.POST("/executions/:id/cancel", s.cancel, runner)
	authed.POST("/executions/:id/rerun", s.rerun, runner)
	s.connectorRoutes(authed)
	s.webhookRoutes(v1, authed)
	s.scheduleRoutes(authed)
	s.stateRoutes(authed)
	s.auditRoutes(authed)

	authed.GET("/clients", s.listClients, admin)
	authed.POST("/clients", s.createClient, admin)
	authed.DELETE("/clients/:id", s.deleteClient, admin)
	authed.POST("/auth/signing-key/rotate", s.rotateSigningKey, admin)

	// Users and their browser sessions (users.go, sessions.go).
	v1.GET("/auth/methods", s.authMethods)
	v1.POST("/auth/login", s.login)
	authed.GET("/auth/me", s.me, viewer)
	authed.POST("/auth/logout", s.logout, viewer)
	authed.GET("/auth/sessions", s.listSessions, viewer)
	authed.DELETE("/auth/sessions/:id", s.deleteSession, viewer)
	authed.GET("/users", s.listUsers, admin)
	authed.POST("/users", s.createUser, admin)
	authed.GET("/users/:username", s.getUser, admin)
	authed.PATCH("/users/:username", s.patchUser, admin)
	authed.DELETE("/users/:username", s.deleteUser, admin)

	// Anything else under /api is an unknown route, never the web UI.
	v1.Any("/*", func(c echo.Context) error { return echo.ErrNotFound })
	if s.Web != nil {
		// Compressed (the editor chunk is 529 KB raw, 174 KB gzipped); only the web UI,
		// so that the API's streams are never buffered.
		e.GET("/*", s.web(), middleware.GzipWithConfig(middleware.GzipConfig{MinLength: 1024}))
	}
	return e
}

func (s *Server) ready(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 3*time.Second)
	defer cancel()
	if s.Ready != nil {
		if err := s.Ready(ctx); err != nil {
			s.Log.Warn("not ready", "error", err)
			return engine.Errorf(engine.EUnavailable, "not ready: %v", err)
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}

// web serves the UI's files, and index.html for any other path (client-side routes).
func (s *Server) web() echo.HandlerFunc {
	files := http.FileServerFS(s.Web)
	return func(c echo.Context) error {
		p := c.Request().URL.Path
		c.Response().Header().Set(echo.HeaderContentSecurityPolicy, uiCSP)
		if strings.HasPrefix(p, "/assets/") {
			// Vite names assets by content hash: they never change.
			c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			c.Response().Header().Set("Cache-Control", "no-cache")
		}
		if p != "/" {
			if _, err := fs.Stat(s.Web, p[1:]); err != nil {
				c.Request().URL.Path = "/"
			}
		}
		files.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}
