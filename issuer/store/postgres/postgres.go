// Package postgres is the production store.Store backend: a PostgreSQL
// database shared by any number of issuer replicas.
//
// It uses a pgx/v5 connection pool. Writes run in READ COMMITTED
// transactions that lock the rows they decide on (a refresh token is
// rotated under SELECT ... FOR UPDATE), and a transaction that fails with
// a deadlock or serialization error is retried. Coordination between
// replicas uses session advisory locks: migrations take one through goose,
// and WithLock takes one per lock name.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatepass/gatepass/issuer/store"
)

// maxTxAttempts is how many times a transaction runs when Postgres aborts
// it for a deadlock or a serialization failure.
const maxTxAttempts = 3

// Store is a store.Store on a Postgres connection pool. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool

	// localLocks holds a semaphore per WithLock name, so that callers in
	// this process queue in memory rather than each holding a pooled
	// connection while they wait for the advisory lock.
	localLocks sync.Map // string -> chan struct{} with a buffer of one
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url, a postgres:// URL that may carry
// pgxpool settings such as pool_max_conns, and applies pending migrations.
func Open(ctx context.Context, url string) (*Store, error) {
	config, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse Postgres URL: %w", err)
	}
	if err := migrate(ctx, config.ConnConfig.Copy()); err != nil {
		return nil, err
	}

	config.AfterConnect = registerUTCTimes
	pool, err := pgxpool.NewWithConfig(ctx, config)
	if err != nil {
		return nil, fmt.Errorf("create Postgres connection pool: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// registerUTCTimes makes conn return timestamptz values in UTC, whatever
// the session's or the process's time zone.
func registerUTCTimes(_ context.Context, conn *pgx.Conn) error {
	conn.TypeMap().RegisterType(&pgtype.Type{
		Name:  "timestamptz",
		OID:   pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	return nil
}

// Ping checks that the database accepts a connection and a query.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping Postgres: %w", err)
	}
	return nil
}

// Close closes every connection of the pool, waiting for connections in
// use to be released. The Store must not be used afterwards.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// inTx runs fn in a transaction and commits it if fn returns nil. It runs
// fn again, up to maxTxAttempts times in all, when Postgres aborts the
// transaction for a deadlock or a serialization failure, so fn must leave
// no trace outside the transaction except in values it sets afresh.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return retryConflicts(ctx, func() error {
		return pgx.BeginFunc(ctx, s.pool, fn)
	})
}

// retryConflicts runs fn until it succeeds, fails with an error other than
// a deadlock or serialization failure, or has run maxTxAttempts times.
func retryConflicts(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = fn()
		if !isConflict(err) || attempt == maxTxAttempts {
			break
		}
		slog.WarnContext(ctx, "retrying a transaction that Postgres aborted", "attempt", attempt, "error", err)
	}
	return err
}

// isConflict reports whether err is a deadlock (SQLSTATE 40P01) or a
// serialization failure (40001), after which a retry may succeed.
func isConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}
