package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// retryPool is gorm's connection pool for PostgreSQL. A statement that fails because
// the server ended its pooled connection before running it (an idle connection after
// PostgreSQL restarted answers "terminating connection due to administrator command",
// SQLSTATE 57P01, to the first statement sent on it) runs once more, on a fresh
// connection: without it, the first request after a database restart answers 500.
//
// Statements inside a transaction are not retried here: gorm runs them on the
// *sql.Tx, and the caller retries the whole transaction.
type retryPool struct {
	db *sql.DB
	// maxIdle is the pool's idle-connection limit, set again after a flush.
	maxIdle int
}

// flush closes the pool's idle connections: when the server ended one, it ended
// them all (a restart), and a retry on the next idle one would fail the same way.
func (p retryPool) flush() {
	p.db.SetMaxIdleConns(0)
	p.db.SetMaxIdleConns(p.maxIdle)
}

// staleConn reports whether err says that the statement never ran because its
// connection was dead: ended by the server (57P01 admin shutdown, 57P02 crash
// shutdown) or failed before anything was sent (pgx's SafeToRetry).
func staleConn(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "57P01" || pgErr.Code == "57P02"
	}
	return pgconn.SafeToRetry(err)
}

func (p retryPool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	st, err := p.db.PrepareContext(ctx, query)
	if staleConn(err) {
		p.flush()
		st, err = p.db.PrepareContext(ctx, query)
	}
	return st, err
}

func (p retryPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := p.db.ExecContext(ctx, query, args...)
	if staleConn(err) {
		p.flush()
		res, err = p.db.ExecContext(ctx, query, args...)
	}
	return res, err
}

func (p retryPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := p.db.QueryContext(ctx, query, args...)
	if staleConn(err) {
		p.flush()
		rows, err = p.db.QueryContext(ctx, query, args...)
	}
	return rows, err
}

func (p retryPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	row := p.db.QueryRowContext(ctx, query, args...)
	if staleConn(row.Err()) {
		p.flush()
		row = p.db.QueryRowContext(ctx, query, args...)
	}
	return row
}

func (p retryPool) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	tx, err := p.db.BeginTx(ctx, opts)
	if staleConn(err) {
		p.flush()
		tx, err = p.db.BeginTx(ctx, opts)
	}
	return tx, err
}

// GetDBConn gives gorm's DB() the pool itself.
func (p retryPool) GetDBConn() (*sql.DB, error) { return p.db, nil }

// PingContext lets gorm and Open ping through the pool.
func (p retryPool) PingContext(ctx context.Context) error { return p.db.PingContext(ctx) }
