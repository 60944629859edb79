package app

import (
	"log/slog"

	"github.com/flowd/flowd/api"
	"github.com/flowd/flowd/connectors/rest"
	"github.com/flowd/flowd/engine"
)

// blockPrivateNetworks tells whether connector requests may not reach loopback,
// private and link-local addresses: as configured, else on in production (a Temporal
// cluster) and off for the embedded development setup, whose examples call flowd's
// own /demo endpoints on 127.0.0.1.
func blockPrivateNetworks(cfg Config) bool {
	if cfg.BlockPrivateNetworks != nil {
		return *cfg.BlockPrivateNetworks
	}
	return cfg.TemporalAddress != ""
}

// instrumentConnectors puts the SSRF guard (when on) under the REST connectors and
// times every connector type's calls. It changes conns in place, before any call.
func instrumentConnectors(conns map[string]engine.Connector, cfg Config, m *api.Metrics, log *slog.Logger) {
	block := blockPrivateNetworks(cfg)
	for typ, c := range conns {
		if rc, ok := c.(*rest.Connector); ok && block && rc.HTTPTransport == nil {
			rc.HTTPTransport = rest.GuardedTransport()
		}
		conns[typ] = m.Connector(typ, c)
	}
	if cfg.Role == "api" {
		return // connectors run in workers; the API only tests saved connectors
	}
	if block {
		log.Info("connector requests to loopback, private and link-local addresses are blocked (--block-private-networks)")
	} else {
		log.Warn("connector requests may reach loopback, private and link-local addresses, such as this machine and 169.254.169.254: " +
			"fine for local development; set --block-private-networks (FLOWD_BLOCK_PRIVATE_NETWORKS=true) when flows or their inputs are not fully trusted")
	}
}
