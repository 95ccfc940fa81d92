package postgres_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/issuer/store/postgres"
	"github.com/gatepass/gatepass/issuer/store/postgres/pgtest"
	"github.com/gatepass/gatepass/issuer/store/storetest"
)

func openStore(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open failed: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close failed: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, pgtest.NewDatabase(t))
	})
}

func TestConcurrentMigrationsApplyOnce(t *testing.T) {
	const replicas = 4
	url := pgtest.NewDatabase(t)

	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { errs[i] = postgres.Migrate(t.Context(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate by replica %d failed: %v", i, err)
		}
	}

	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(context.Background())
	var applied, distinct int
	err = conn.QueryRow(t.Context(),
		`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct)
	if err != nil {
		t.Fatalf("read the migration history: %v", err)
	}
	if applied != distinct {
		t.Errorf("the migration history has %d rows for %d versions, want each version applied once", applied, distinct)
	}
	if applied == 0 {
		t.Error("the migration history is empty")
	}
}

func TestLockExcludesOtherStores(t *testing.T) {
	url := pgtest.NewDatabase(t)
	first := openStore(t, url)
	second := openStore(t, url)

	held := make(chan struct{})
	release := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		result <- first.WithLock(t.Context(), "rotation", func(context.Context) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held

	// The second store's waiting ends only through its context, which is
	// canceled once the session's wait on the lock is visible in
	// pg_locks: so the lock was denied, not merely not yet asked for.
	ctx, cancel := context.WithCancel(t.Context())
	waited := make(chan error, 1)
	go func() {
		waited <- second.WithLock(ctx, "rotation", func(context.Context) error {
			t.Error("the second store took a lock the first holds")
			return nil
		})
	}()
	waitForLockWaiter(t, url)
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Errorf("WithLock on the second store returned %v, want context.Canceled", err)
	}

	close(release)
	if err := <-result; err != nil {
		t.Fatalf("WithLock on the first store failed: %v", err)
	}
	ran := false
	err := second.WithLock(t.Context(), "rotation", func(context.Context) error {
		ran = true
		return nil
	})
	if err != nil || !ran {
		t.Errorf("WithLock on the second store after the first released: ran %t, error %v", ran, err)
	}
}

// waitForLockWaiter returns once a session of the database at url waits for
// an advisory lock, polling pg_locks.
func waitForLockWaiter(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(context.Background())
	for {
		var waiting bool
		err := conn.QueryRow(t.Context(), `SELECT EXISTS (
				SELECT 1 FROM pg_locks
				WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			)`).Scan(&waiting)
		if err != nil {
			t.Fatalf("read pg_locks: %v", err)
		}
		if waiting {
			return
		}
	}
}

func TestOpenUnreachable(t *testing.T) {
	// Port 1 on loopback: nothing listens there, so the connection is
	// refused at once.
	_, err := postgres.Open(t.Context(), "postgres://gatepass:secret-password@127.0.0.1:1/gatepass?sslmode=disable&connect_timeout=5")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded, want an error")
	}
	if msg := err.Error(); strings.Contains(msg, "secret-password") {
		t.Errorf("the error shows the password: %s", msg)
	}
}

func BenchmarkGetCredential(b *testing.B) {
	storetest.BenchmarkGetCredential(b, openStore(b, pgtest.NewDatabase(b)))
}

func BenchmarkRotateRefreshToken(b *testing.B) {
	storetest.BenchmarkRotateRefreshToken(b, openStore(b, pgtest.NewDatabase(b)))
}
