package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/flowd/flowd/store"
)

// retentionInterval is how often ended executions past the retention age are deleted.
const retentionInterval = time.Hour

// runRetention deletes, every hour until ctx ends, the executions (with their children
// and log lines) that ended longer than keep ago. keep <= 0 keeps everything.
func runRetention(ctx context.Context, st *store.Store, keep time.Duration, log *slog.Logger) {
	if keep <= 0 {
		return
	}
	tick := time.NewTicker(retentionInterval)
	defer tick.Stop()
	for {
		deleteOld(ctx, st, keep, log)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func deleteOld(ctx context.Context, st *store.Store, keep time.Duration, log *slog.Logger) {
	cutoff := time.Now().Add(-keep)
	total := 0
	for ctx.Err() == nil {
		n, err := st.DeleteEndedBefore(ctx, cutoff, 500)
		if err != nil {
			log.Warn("retention: deleting old executions failed; will try again in an hour", "error", err)
			return
		}
		if total += n; n == 0 {
			break
		}
	}
	if total > 0 {
		log.Info("retention: deleted old executions", "executions", total, "ended_before", cutoff)
	}
}
