package store

import (
	"context"
	"database/sql"
	"os"
	"runtime"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestStaleConnectionRetried ends every pooled connection of a store on the server's
// side, as a PostgreSQL restart does (pg_terminate_backend sends the same FATAL 57P01
// "terminating connection due to administrator command"), and checks that the store's
// next reads and writes succeed on fresh connections instead of failing once each.
func TestStaleConnectionRetried(t *testing.T) {
	url := os.Getenv("FLOWD_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("FLOWD_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	st, err := Open(ctx, url, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	killer, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close()
	// endPool fills the store's pool with idle connections, then ends them all from
	// another session and waits until their server processes are gone.
	endPool := func(db *sql.DB) int {
		// Taken twice: the driver pings a connection on its first reuse (and after a
		// second idle), which would find it dead before any statement; a busy
		// server's connections are reused within the second and are not pinged.
		conns := make([]*sql.Conn, 5)
		for range 2 {
			for i := range conns {
				if conns[i], err = db.Conn(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range conns {
				c.Close()
			}
		}
		for i := range conns {
			if conns[i], err = db.Conn(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var pids []int
		for _, c := range conns {
			var pid int
			if err := c.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
			c.Close()
		}
		for _, pid := range pids {
			var ok bool
			if err := killer.QueryRowContext(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok); err != nil || !ok {
				t.Fatalf("terminate backend %d of %v: %v %v", pid, pids, ok, err)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			var n int
			if err := killer.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", pids).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return len(pids)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of the terminated backends still run after 10 s", n)
			}
			runtime.Gosched()
		}
	}
	// The scenario is real: on a plain pool, a statement fails with 57P01.
	plain, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.SetMaxIdleConns(10)
	endPool(plain)
	if _, err := plain.ExecContext(ctx, "SELECT 1"); !staleConn(err) {
		t.Fatalf("a statement on a connection the server ended answered %v, not 57P01: the test no longer reproduces a restart", err)
	}
	pids := make([]int, endPool(st.sqlDB))
	for i := 0; i < len(pids)+1; i++ {
		if _, err := st.ListFlows(ctx); err != nil {
			t.Fatalf("read %d after the connections were ended: %v", i, err)
		}
	}
	for i := 0; i < len(pids)+1; i++ {
		if err := st.db.WithContext(ctx).Exec("SELECT 1").Error; err != nil {
			t.Fatalf("statement %d after the connections were ended: %v", i, err)
		}
	}
}
