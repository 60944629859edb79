package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/flowd/flowd/api"
	"github.com/flowd/flowd/connectors/rest"
	"github.com/flowd/flowd/embedded"
	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/store"
	"github.com/flowd/flowd/web"
)

// ServeCmd runs flowd.
type ServeCmd struct {
	Addr            string `default:"127.0.0.1:8080" env:"FLOWD_ADDR" help:"Address of the API and web UI."`
	DataDir         string `default:"./data" env:"FLOWD_DATA_DIR" help:"Directory for SQLite files, the embedded Temporal's state and stored files."`
	DatabaseURL     string `env:"FLOWD_DATABASE_URL" help:"postgres://... for PostgreSQL; empty: SQLite in the data dir."`
	TemporalAddress string `env:"FLOWD_TEMPORAL_ADDRESS" help:"host:port of a Temporal cluster; empty: start the embedded server."`
	TemporalPort    int    `default:"7233" env:"FLOWD_TEMPORAL_PORT" help:"Port of the embedded Temporal server (0 picks a free one)."`
	Namespace       string `default:"default" env:"FLOWD_TEMPORAL_NAMESPACE" help:"Temporal namespace."`
	TaskQueue       string `default:"flowd" env:"FLOWD_TASK_QUEUE" help:"Temporal task queue of the workers."`
	Role            string `default:"all" enum:"all,api,worker" env:"FLOWD_ROLE" help:"all, api or worker, to split them across processes."`
	LogLevel        string `default:"info" enum:"debug,info,warn,error" env:"FLOWD_LOG_LEVEL" help:"Log level."`
	AdminClientID   string `env:"FLOWD_ADMIN_CLIENT_ID" help:"Bootstrap admin client id (with --admin-client-secret)."`
	AdminSecret     string `env:"FLOWD_ADMIN_CLIENT_SECRET" help:"Bootstrap admin client secret."`
}

// Run starts everything and blocks until ctx is cancelled (SIGINT/SIGTERM), then
// drains: the HTTP server finishes its requests and the worker its tasks; running
// executions stay durable in Temporal and resume on the next start.
func (s *ServeCmd) Run(ctx context.Context) error {
	var level slog.Level
	_ = level.UnmarshalText([]byte(s.LogLevel))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	st, err := store.Open(ctx, s.DatabaseURL, s.DataDir)
	if err != nil {
		return err
	}
	defer st.Close()
	log.Info("database ready", "dialect", st.Dialect())

	hostPort := s.TemporalAddress
	if hostPort == "" {
		srv, err := embedded.Start(embedded.Options{DatabaseFile: filepath.Join(s.DataDir, "temporal.db"), Port: s.TemporalPort, Namespace: s.Namespace})
		if err != nil {
			return err
		}
		defer srv.Stop()
		hostPort = srv.Address()
		log.Info("embedded Temporal server started; attach the Temporal CLI or UI with --address "+hostPort, "address", hostPort)
	}
	tc, err := dialTemporal(ctx, hostPort, s.Namespace, log)
	if err != nil {
		return err
	}
	defer tc.Close()

	eng := &engine.Engine{Store: st, Temporal: tc, TaskQueue: s.TaskQueue, Log: log}
	var w worker.Worker
	if s.Role != "api" {
		acts := &engine.Activities{
			Store:      st,
			Connectors: map[string]engine.Connector{"REST": &rest.Connector{}},
			Log:        log,
			Notify:     eng.Ended,
		}
		w = engine.NewWorker(tc, s.TaskQueue, acts)
		if err := w.Start(); err != nil {
			return fmt.Errorf("start worker on task queue %s: %w", s.TaskQueue, err)
		}
		log.Info("worker started", "task_queue", s.TaskQueue)
	}

	var httpSrv *http.Server
	if s.Role != "worker" {
		if httpSrv, err = s.startAPI(ctx, st, eng, tc, log); err != nil {
			if w != nil {
				w.Stop()
			}
			return err
		}
	}

	<-ctx.Done()
	log.Info("shutting down: draining requests and the worker; running executions resume on the next start")
	if httpSrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		_ = httpSrv.Shutdown(sctx)
		cancel()
	}
	if w != nil {
		w.Stop()
	}
	return nil
}

func (s *ServeCmd) startAPI(ctx context.Context, st *store.Store, eng *engine.Engine, tc client.Client, log *slog.Logger) (*http.Server, error) {
	key, err := api.SigningKey(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("load the token signing key: %w", err)
	}
	id, secret, err := api.Bootstrap(ctx, st, s.AdminClientID, s.AdminSecret)
	if err != nil {
		return nil, fmt.Errorf("create the bootstrap admin client: %w", err)
	}
	srv := &api.Server{
		Engine: eng, Store: st, Auth: &api.Auth{Store: st, Key: key}, Log: log, Web: web.Assets(),
		Ready: func(ctx context.Context) error {
			if err := st.Ping(ctx); err != nil {
				return fmt.Errorf("database: %w", err)
			}
			if _, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
				return fmt.Errorf("temporal: %w", err)
			}
			return nil
		},
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another flowd running? pick another with --addr)", s.Addr, err)
	}
	httpSrv := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("HTTP server stopped", "error", err)
		}
	}()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(os.Stderr, "\nflowd is running at %s\n", url)
	if secret != "" {
		fmt.Fprintf(os.Stderr, "\nCreated the admin API client (shown only this once; keep it):\n  FLOWD_CLIENT_ID=%s\n  FLOWD_CLIENT_SECRET=%s\n\n", id, secret)
	}
	log.Info("API listening", "url", url)
	return httpSrv, nil
}

// dialTemporal connects to Temporal, retrying while a just-started server comes up.
func dialTemporal(ctx context.Context, hostPort, namespace string, log *slog.Logger) (client.Client, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Namespace: namespace,
			Logger: tlog.NewStructuredLogger(log.With("component", "temporal-sdk"))})
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to Temporal at %s: %w (is it running? check --temporal-address)", hostPort, err)
		}
		log.Warn("waiting for Temporal", "address", hostPort, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
