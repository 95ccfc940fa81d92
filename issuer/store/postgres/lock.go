package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// lockReleaseTimeout bounds the release of an advisory lock after fn
// returns, even when the caller's context has ended.
const lockReleaseTimeout = 5 * time.Second

// WithLock runs fn while holding the named lock, which excludes every other
// holder of the same name on the same database, in this process or another.
// It returns ctx's error if ctx ends while it waits.
//
// The lock is a session advisory lock on a connection taken from the pool
// for the duration. Callers in one process first queue on an in-memory
// semaphore per name, so that waiting callers hold no connection that fn
// might need.
func (s *Store) WithLock(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	value, _ := s.localLocks.LoadOrStore(name, make(chan struct{}, 1))
	semaphore := value.(chan struct{})

	// Checked first so that an ended context never takes a free lock.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("take lock %q: %w", name, err)
	}
	select {
	case semaphore <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("take lock %q: %w", name, ctx.Err())
	}
	defer func() { <-semaphore }()

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("take lock %q: acquire a connection: %w", name, err)
	}
	key := advisoryLockKey(name)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		// The server may have granted the lock after ctx ended; ending the
		// session releases it.
		closeConn(conn)
		return fmt.Errorf("take lock %q: %w", name, err)
	}
	defer releaseAdvisoryLock(ctx, conn, name, key)

	return fn(ctx)
}

// advisoryLockKey maps a lock name to the bigint key of a Postgres advisory
// lock: the 64-bit FNV-1a hash of "gatepass:" and the name.
func advisoryLockKey(name string) int64 {
	hash := fnv.New64a()
	hash.Write([]byte("gatepass:" + name))
	return int64(hash.Sum64())
}

// releaseAdvisoryLock releases the lock with key held by conn's session and
// returns conn to the pool. If that fails, it closes the connection, which
// releases the lock too.
func releaseAdvisoryLock(ctx context.Context, conn *pgxpool.Conn, name string, key int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lockReleaseTimeout)
	defer cancel()

	var released bool
	err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&released)
	if err != nil || !released {
		slog.WarnContext(ctx, "releasing advisory lock failed, closing its connection", "lock", name, "released", released, "error", err)
		closeConn(conn)
		return
	}
	conn.Release()
}

// closeConn takes conn out of the pool and closes it, ending its session.
func closeConn(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), lockReleaseTimeout)
	defer cancel()
	// The session is discarded either way, so a failed close changes
	// nothing for the caller.
	_ = conn.Hijack().Close(ctx)
}
