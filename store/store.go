// Package store keeps flowd's records (flows, executions, log lines, API clients) in
// SQLite or PostgreSQL through gorm. The schema is applied by goose from migrations/.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/flowd/flowd/migrations"
)

// Store is the gorm-backed implementation of engine.Store.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect string
}

// Open connects to databaseURL (a postgres:// URL), or, when it is empty, to the SQLite
// file flowd.db in dataDir, and applies pending migrations. It returns an error that
// names the database when it cannot be reached or migrated.
func Open(ctx context.Context, databaseURL, dataDir string) (*Store, error) {
	var (
		s       = &Store{}
		dialect gorm.Dialector
		gdial   goose.Dialect
		fsys    = migrations.SQLite()
	)
	// TranslateError makes a duplicate key gorm.ErrDuplicatedKey on both dialects, which
	// the store turns into EConflict (409) instead of an internal error.
	cfg := &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true, PrepareStmt: false, TranslateError: true}
	switch {
	case databaseURL == "":
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir %s: %w", dataDir, err)
		}
		path := filepath.Join(dataDir, "flowd.db")
		// WAL lets readers run beside the writer; busy_timeout waits for the lock instead
		// of failing; one open connection serialises writers inside this process.
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_txlock=immediate"
		conn, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open SQLite %s: %w", path, err)
		}
		conn.SetMaxOpenConns(1)
		s.sqlDB, s.dialect, gdial = conn, "sqlite", goose.DialectSQLite3
		dialect = sqliteDialector{conn: conn}
	case strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://"):
		dialect = postgres.Open(databaseURL)
		s.dialect, gdial, fsys = "postgres", goose.DialectPostgres, migrations.Postgres()
	default:
		return nil, fmt.Errorf("unsupported --database-url %q: use postgres://user:pass@host:5432/db, or leave it empty for SQLite in the data dir", redactURL(databaseURL))
	}
	db, err := gorm.Open(dialect, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s database: %w", s.dialect, err)
	}
	s.db = db
	if s.sqlDB == nil {
		if s.sqlDB, err = db.DB(); err != nil {
			return nil, err
		}
		s.sqlDB.SetMaxOpenConns(20)
		s.sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.sqlDB.PingContext(pingCtx); err != nil {
		return nil, fmt.Errorf("reach %s database %s: %w (is it running and is the URL right?)", s.dialect, redactURL(databaseURL), err)
	}
	// Migrations from branches developed side by side may be applied out of order.
	provider, err := goose.NewProvider(gdial, s.sqlDB, fsys, goose.WithAllowOutofOrder(true))
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return nil, fmt.Errorf("apply migrations to %s database: %w", s.dialect, err)
	}
	return s, nil
}

// Close closes the database connections.
func (s *Store) Close() error { return s.sqlDB.Close() }

// Dialect returns "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Ping checks that the database answers; readiness probes use it.
func (s *Store) Ping(ctx context.Context) error { return s.sqlDB.PingContext(ctx) }

// redactURL hides the password of a database URL for error messages.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	creds := u[scheme+3 : at]
	if i := strings.Index(creds, ":"); i >= 0 {
		return u[:scheme+3] + creds[:i] + ":***" + u[at:]
	}
	return u
}
