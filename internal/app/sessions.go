package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/flowd/flowd/api"
)

// sessionCleanupInterval is how often ended browser sessions are deleted.
const sessionCleanupInterval = time.Hour

// runSessionCleanup deletes ended browser sessions every hour until ctx ends.
func runSessionCleanup(ctx context.Context, auth *api.Auth, log *slog.Logger) {
	tick := time.NewTicker(sessionCleanupInterval)
	defer tick.Stop()
	for {
		if n, err := auth.DeleteEndedSessions(ctx); err != nil && ctx.Err() == nil {
			log.Warn("deleting ended browser sessions failed; will try again in an hour", "error", err)
		} else if n > 0 {
			log.Debug("deleted ended browser sessions", "sessions", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
