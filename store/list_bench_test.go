package store

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/flowd/flowd/engine"
)

// BenchmarkListExecutions measures GET /api/v1/executions' queries on PostgreSQL with
// a million executions (created once in the database flowd_bench_list next to
// FLOWD_TEST_POSTGRES_URL's):
//
//	FLOWD_TEST_POSTGRES_URL=postgres://... go test ./store -run '^$' -bench ListExecutions -benchtime 200x
func BenchmarkListExecutions(b *testing.B) {
	base := os.Getenv("FLOWD_TEST_POSTGRES_URL")
	if base == "" {
		b.Skip("FLOWD_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	admin, err := Open(ctx, base, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	_ = admin.db.Exec("CREATE DATABASE flowd_bench_list").Error // exists after the first run
	admin.Close()
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/flowd_bench_list"
	st, err := Open(ctx, u.String(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()

	const rows = 1_000_000
	var n int64
	st.db.Model(&executionRow{}).Count(&n)
	if n < rows {
		start := time.Now()
		err := st.db.Exec(`INSERT INTO executions (id, type, name, status, status_message, root_id, flow_revision, inputs, outputs, "trigger", created_at, started_at, ended_at)
SELECT 'bench-' || g, 'FLOW', 'flow_' || (g % 100),
       (ARRAY['ENDED_SUCCESS','ENDED_SUCCESS','ENDED_SUCCESS','ENDED_ERROR','RUNNING'])[1 + g % 5], '',
       'bench-' || g, 1, '{"customer": ' || (g % 10000) || ', "tier": "gold"}', '{}',
       (ARRAY['api','webhook','schedule'])[1 + g % 3],
       now() - g * interval '1 second', now() - g * interval '1 second', now() - g * interval '1 second'
FROM generate_series(?::bigint, ?::bigint) AS g`, n+1, int64(rows)).Error
		if err != nil {
			b.Fatal(err)
		}
		st.db.Exec("ANALYZE executions")
		b.Logf("inserted %d executions in %v", rows-n, time.Since(start).Round(time.Second))
	}

	first, _, err := st.ListExecutions(ctx, engine.ExecutionFilter{Limit: 50})
	if err != nil || len(first) != 50 {
		b.Fatalf("%d %v", len(first), err)
	}
	_, deepCursor, _ := st.ListExecutions(ctx, engine.ExecutionFilter{Limit: 500, Since: time.Now().Add(-500000 * time.Second)})
	for _, tc := range []struct {
		name string
		f    engine.ExecutionFilter
	}{
		{"newest", engine.ExecutionFilter{Limit: 50}},
		{"flow", engine.ExecutionFilter{Flow: "flow_42", Limit: 50}},
		{"status", engine.ExecutionFilter{Status: engine.StatusEndedError, Limit: 50}},
		{"trigger", engine.ExecutionFilter{Trigger: engine.TriggerSchedule, Limit: 50}},
		{"input", engine.ExecutionFilter{Inputs: map[string]any{"customer": float64(4242)}, Limit: 50}},
		{"input+flow", engine.ExecutionFilter{Flow: "flow_42", Inputs: map[string]any{"customer": float64(4242)}, Limit: 50}},
		{"time range", engine.ExecutionFilter{Since: time.Now().Add(-48 * time.Hour), Until: time.Now().Add(-24 * time.Hour), Limit: 50}},
		{"deep cursor", engine.ExecutionFilter{Cursor: deepCursor, Limit: 50}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				items, _, err := st.ListExecutions(ctx, tc.f)
				if err != nil || len(items) == 0 {
					b.Fatalf("%d items, %v", len(items), err)
				}
			}
		})
	}
}
