// Package store keeps flowd's records (flows, executions, log lines, API clients) in
// SQLite or PostgreSQL through gorm. The schema is applied by goose from migrations/.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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
	// The ping is Open's own, below, so that its error says what went wrong.
	cfg := &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true, PrepareStmt: false, TranslateError: true, DisableAutomaticPing: true}
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
		pgCfg, err := pgx.ParseConfig(databaseURL)
		if err != nil {
			return nil, fmt.Errorf("read --database-url %s: %w (use postgres://user:pass@host:5432/db?sslmode=disable)", redactURL(databaseURL), err)
		}
		conn := stdlib.OpenDB(*pgCfg)
		// Keep as many idle connections as may be open: database/sql's default of two
		// would close and open connections all the time under load.
		conn.SetMaxOpenConns(20)
		conn.SetMaxIdleConns(20)
		conn.SetConnMaxIdleTime(5 * time.Minute)
		s.sqlDB, s.dialect, gdial, fsys = conn, "postgres", goose.DialectPostgres, migrations.Postgres()
		dialect = postgres.New(postgres.Config{Conn: retryPool{db: conn, maxIdle: 20}})
	default:
		return nil, fmt.Errorf("unsupported --database-url %q: use postgres://user:pass@host:5432/db, or leave it empty for SQLite in the data dir", redactURL(databaseURL))
	}
	db, err := gorm.Open(dialect, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s database: %w", s.dialect, err)
	}
	s.db = db
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.sqlDB.PingContext(pingCtx); err != nil {
		_ = s.sqlDB.Close()
		return nil, connectError(s.dialect, redactURL(databaseURL), err)
	}
	if err := s.migrate(ctx, gdial, fsys); err != nil {
		_ = s.sqlDB.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the migrations of fsys that the database lacks. It refuses a
// database that a newer flowd has migrated further than this one knows: this flowd
// would misread the newer tables.
func (s *Store) migrate(ctx context.Context, gdial goose.Dialect, fsys fs.FS) error {
	// Migrations from branches developed side by side may be applied out of order.
	opts := []goose.ProviderOption{goose.WithAllowOutofOrder(true)}
	if gdial == goose.DialectPostgres {
		// Processes started at once on a new database (an API and its workers) take
		// turns: without the lock, all but one fail half way with "relation already
		// exists". The lock is PostgreSQL's advisory lock, held by one session.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	provider, err := goose.NewProvider(gdial, s.sqlDB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	sources := provider.ListSources()
	newest := sources[len(sources)-1].Version
	current, err := provider.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read the schema version of the %s database: %w", s.dialect, err)
	}
	if current > newest {
		return fmt.Errorf("the %s database was migrated by a newer flowd (schema version %d; this flowd knows up to %d): run that newer flowd, or restore the database from a backup taken before the upgrade", s.dialect, current, newest)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations to %s database: %w", s.dialect, err)
	}
	return nil
}

// connectError names why the database at url (redacted) did not answer, and what to
// check.
func connectError(dialect, url string, err error) error {
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) {
		switch code := pgErr.SQLState(); {
		case strings.HasPrefix(code, "28"): // invalid_authorization_specification, invalid_password
			return fmt.Errorf("the %s database %s refused the credentials: %w (check the user and password in --database-url / FLOWD_DATABASE_URL)", dialect, url, err)
		case code == "3D000": // invalid_catalog_name
			return fmt.Errorf("the %s database %s does not exist: %w (create it with CREATE DATABASE, or fix the name in --database-url)", dialect, url, err)
		}
	}
	if Unreachable(err) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the %s database %s is unreachable: %w (is it running, and are the host and port in --database-url right?)", dialect, url, err)
	}
	return fmt.Errorf("reach %s database %s: %w (is it running and is the URL right?)", dialect, url, err)
}

// Unreachable reports whether err means that the database cannot be reached now (a
// refused, reset or closed connection, a server shutting down or not yet accepting
// connections, a SQLite file that cannot be opened, read or locked) rather than that
// the query was wrong. Such errors pass once the database is back: the API answers
// them 503 with Retry-After, and the workflow's activities retry them.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	// pgx reports a failed dial or a dropped connection as a net.Error inside its
	// own error types (pgconn.ConnectError and others wrap it).
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	// PostgreSQL's SQLSTATE (pgconn.PgError): class 08 is a connection exception,
	// 57P01-57P03 a server shutting down or starting, 53300 too many connections.
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) {
		switch code := pgErr.SQLState(); code {
		case "57P01", "57P02", "57P03", "53300":
			return true
		default:
			return strings.HasPrefix(code, "08")
		}
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		// The primary code is the low byte; extended codes add detail above it.
		switch liteErr.Code() & 0xff {
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return true
		}
	}
	return false
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
