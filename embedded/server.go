// Package embedded runs a single-process Temporal server (go.temporal.io/server) with
// SQLite file persistence, so that `flowd` works on one machine without a cluster. Its
// state lives in one file: a restart resumes every running workflow.
package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// Options configure the embedded server.
type Options struct {
	// DatabaseFile is the SQLite file for Temporal's state; created with the schema
	// when missing.
	DatabaseFile string
	// IP to bind; default 127.0.0.1.
	IP string
	// Port of the frontend (the address workers and the Temporal CLI use); 0 picks a
	// free one.
	Port int
	// Namespace to create when missing; default "default".
	Namespace string
	// Log receives the server's messages, one level quieter than the server logs
	// them (see NewLogger); nil: slog.Default().
	Log *slog.Logger
}

// Server is a running embedded Temporal server.
type Server struct {
	srv      temporal.Server
	address  string
	stopping atomic.Bool // demotes the noise of a normal stop (see quieter)
}

const clusterName = "active"

// Start creates the schema and namespace when needed and starts the server. It returns
// an error naming the file or port that is the problem.
func Start(opt Options) (*Server, error) {
	if opt.IP == "" {
		opt.IP = "127.0.0.1"
	}
	if opt.Namespace == "" {
		opt.Namespace = "default"
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.DatabaseFile == "" {
		return nil, errors.New("embedded Temporal: a database file is required")
	}
	if err := os.MkdirAll(filepath.Dir(opt.DatabaseFile), 0o700); err != nil {
		return nil, fmt.Errorf("embedded Temporal: create %s: %w", filepath.Dir(opt.DatabaseFile), err)
	}
	ports, err := freePorts(opt.IP, 5)
	if err != nil {
		return nil, err
	}
	if opt.Port == 0 {
		opt.Port = ports[4]
	}
	sqlConf, err := sqlConfig(opt)
	if err != nil {
		return nil, err
	}
	svc := func(grpcPort, httpPort int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: grpcPort, HTTPPort: httpPort, BindOnIP: opt.IP}}
	}
	hostPort := func(p int) string { return net.JoinHostPort(opt.IP, strconv.Itoa(p)) }
	frontend := hostPort(opt.Port)
	conf := &config.Config{
		Global: config.Global{Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: opt.IP}},
		Persistence: config.Persistence{
			DefaultStore:     "sqlite",
			VisibilityStore:  "sqlite",
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{"sqlite": {SQL: sqlConf}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{clusterName: {
				Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontend,
				// No ClusterID: the server generates a UUID on the first start and keeps it
				// in its database (one that is not a UUID would be replaced, with a warning).
				HTTPAddress: hostPort(ports[0]),
			}},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": svc(opt.Port, ports[0]),
			"history":  svc(ports[1], 0),
			"matching": svc(ports[2], 0),
			"worker":   svc(ports[3], 0),
		},
		PublicClient: config.PublicClient{HostPort: frontend},
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"

	dyn := dynamicconfig.StaticClient{
		dynamicconfig.EnableEagerWorkflowStart.Key():                     true,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8192,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// A short timer (a 1 ms task switch, a this.sleep(1)) fires in about 20 ms
		// instead of 0.2-1 s late: one history host has no clock skew to cover.
		dynamicconfig.TimerProcessorMaxTimeShift.Key(): 10 * time.Millisecond,
	}
	s := &Server{}
	logger := NewLogger(opt.Log.Handler(), &s.stopping)
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(frontend),
			primitives.HistoryService:  static.SingleLocalHost(hostPort(ports[1])),
			primitives.MatchingService: static.SingleLocalHost(hostPort(ports[2])),
			primitives.WorkerService:   static.SingleLocalHost(hostPort(ports[3])),
		}),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("embedded Temporal: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("embedded Temporal: start on %s: %w (is the port in use? pick another with --temporal-port)", frontend, err)
	}
	s.srv, s.address = srv, frontend
	return s, nil
}

// Address returns the frontend's host:port, for SDK clients and the Temporal CLI.
func (s *Server) Address() string { return s.address }

// Stop stops the server; running workflows resume at the next start.
func (s *Server) Stop() {
	s.stopping.Store(true)
	s.srv.Stop()
}

func sqlConfig(opt Options) (*config.SQL, error) {
	conf := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      opt.DatabaseFile,
		ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal", "busy_timeout": "10000"},
	}
	if _, err := os.Stat(opt.DatabaseFile); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(conf); err != nil {
			return nil, fmt.Errorf("embedded Temporal: create schema in %s: %w", opt.DatabaseFile, err)
		}
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, opt.Namespace, false, nil)
	if err != nil {
		return nil, fmt.Errorf("embedded Temporal: namespace %s: %w", opt.Namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return nil, fmt.Errorf("embedded Temporal: create namespace %s in %s: %w", opt.Namespace, opt.DatabaseFile, err)
	}
	return conf, nil
}

// freePorts returns n ports that were free a moment ago, for the internal services.
func freePorts(ip string, n int) ([]int, error) {
	var (
		ports     []int
		listeners []net.Listener
	)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("embedded Temporal: find a free port on %s: %w", ip, err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
