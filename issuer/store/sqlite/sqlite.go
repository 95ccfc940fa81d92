// Package sqlite is the embedded store.Store backend: one SQLite file, used
// by a single issuer process.
//
// It uses the pure-Go driver modernc.org/sqlite with the database in WAL
// mode. Reads go through a pool of read-only connections. Writes go through
// a single connection and BEGIN IMMEDIATE transactions, so writers queue
// instead of failing on lock upgrades, and a transaction's reads see the
// rows it is about to change. Times are INTEGER unix microseconds in UTC.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/gatepass/gatepass/issuer/store"
)

// busyTimeoutMillis is how long a connection waits for another process's
// write lock before failing with SQLITE_BUSY.
const busyTimeoutMillis = 10_000

// Store is a store.Store on an SQLite file. It is safe for concurrent use.
type Store struct {
	path   string
	reader *sql.DB
	writer *sql.DB

	// Statements of the token endpoint, prepared once.
	getCredential   *sql.Stmt
	getRefreshToken *sql.Stmt
}

var _ store.Store = (*Store)(nil)

// Open opens the SQLite database at path, creating the file and its parent
// directory (mode 0700) if needed, and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	path, err := prepareFile(path)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, path); err != nil {
		return nil, err
	}

	s := &Store{path: path}
	s.writer, err = sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("open SQLite database %s for writing: %w", path, err)
	}
	// One writer connection: SQLite allows one writer at a time anyway, and
	// queueing in database/sql is cheaper than retrying on SQLITE_BUSY.
	s.writer.SetMaxOpenConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)

	s.reader, err = sql.Open("sqlite", dsn(path, true))
	if err != nil {
		s.writer.Close()
		return nil, fmt.Errorf("open SQLite database %s for reading: %w", path, err)
	}
	readers := max(4, runtime.NumCPU())
	s.reader.SetMaxOpenConns(readers)
	s.reader.SetMaxIdleConns(readers)
	s.reader.SetConnMaxLifetime(0)
	s.reader.SetConnMaxIdleTime(0)

	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// prepareFile creates path's directory and an empty file readable only by
// the owner, unless they exist, and returns path made absolute.
func prepareFile(path string) (string, error) {
	if path == "" {
		return "", errors.New("open SQLite database: the path is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("open SQLite database %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return "", fmt.Errorf("create directory for SQLite database %s: %w", abs, err)
	}
	// SQLite creates the -wal and -shm files with the mode of this one.
	file, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", fmt.Errorf("create SQLite database %s: %w", abs, err)
	}
	if err := file.Close(); err != nil {
		return "", fmt.Errorf("create SQLite database %s: %w", abs, err)
	}
	return abs, nil
}

// dsn returns the modernc.org/sqlite data source name for the file at the
// absolute path, as a URI so that any character is allowed in the path.
func dsn(path string, readOnly bool) string {
	query := url.Values{}
	query.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	query.Add("_pragma", "journal_mode(WAL)")
	query.Add("_pragma", "foreign_keys(1)")
	// FULL syncs the WAL on every commit, so a committed change survives
	// a power loss, not only a crash of the process.
	query.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		query.Add("_pragma", "query_only(1)")
	} else {
		query.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: query.Encode()}
	return u.String()
}

func (s *Store) prepare(ctx context.Context) error {
	var err error
	s.getCredential, err = s.reader.PrepareContext(ctx, selectCredential+` WHERE c.id = ?`)
	if err != nil {
		return fmt.Errorf("prepare the credential query on %s: %w", s.path, err)
	}
	s.getRefreshToken, err = s.reader.PrepareContext(ctx,
		`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE hash = ?`)
	if err != nil {
		return fmt.Errorf("prepare the refresh token query on %s: %w", s.path, err)
	}
	return nil
}

// Ping checks that the database file accepts a query.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.reader.PingContext(ctx); err != nil {
		return fmt.Errorf("ping SQLite database %s: %w", s.path, err)
	}
	return nil
}

// Close closes every connection. The Store must not be used afterwards.
func (s *Store) Close() error {
	var errs []error
	for _, stmt := range []*sql.Stmt{s.getCredential, s.getRefreshToken} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	if s.writer != nil {
		errs = append(errs, s.writer.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close SQLite database %s: %w", s.path, err)
	}
	return nil
}

// inTx runs fn in a write transaction and commits it if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction on %s: %w", s.path, err)
	}
	if err := fn(tx); err != nil {
		// The rollback error adds nothing: fn's error is the cause, and a
		// failed rollback leaves nothing committed.
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction on %s: %w", s.path, err)
	}
	return nil
}
