package sqlite

import (
	"context"
	"fmt"
	"sync"
)

// locks holds one semaphore per database path and lock name, for every
// Store in the process.
var locks sync.Map // lockKey -> chan struct{} with a buffer of one

type lockKey struct{ path, name string }

// WithLock runs fn while holding the named lock, which excludes every other
// holder of the same name on the same database file in this process. It
// returns ctx's error if ctx ends while it waits.
//
// NOTE: the lock lives in process memory, so it does not exclude another
// process using the same file. The SQLite backend is for a single issuer
// process; replicas need the Postgres backend.
func (s *Store) WithLock(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	value, _ := locks.LoadOrStore(lockKey{s.path, name}, make(chan struct{}, 1))
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

	return fn(ctx)
}
