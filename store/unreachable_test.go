package store_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/flowd/flowd/store"
)

func TestUnreachable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for name, c := range map[string]struct {
		err  error
		want bool
	}{
		"Nil":                {nil, false},
		"ConnectionRefused":  {fmt.Errorf("failed to connect: %w", refused), true},
		"BadConn":            {fmt.Errorf("query: %w", driver.ErrBadConn), true},
		"ConnDone":           {sql.ErrConnDone, true},
		"PostgresShutdown":   {&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		"PostgresStarting":   {&pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, true},
		"PostgresConnection": {&pgconn.PgError{Code: "08006"}, true},
		"PostgresUnique":     {&pgconn.PgError{Code: "23505"}, false},
		"PostgresSyntax":     {&pgconn.PgError{Code: "42601"}, false},
		"NotFound":           {gorm.ErrRecordNotFound, false},
		"Cancelled":          {context.Canceled, false},
		"Other":              {errors.New("something else"), false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := store.Unreachable(c.err); got != c.want {
				t.Errorf("Unreachable(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}

	t.Run("SQLiteCannotOpen", func(t *testing.T) {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "no", "such", "dir.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.Ping()
		if err == nil {
			t.Fatal("opened a database in a directory that does not exist")
		}
		if !store.Unreachable(err) {
			t.Errorf("Unreachable(%v) = false, want true", err)
		}
	})
}
