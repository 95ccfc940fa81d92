package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// hangGuard bounds calls that must not block, so that a broken lock fails
// the test with a message instead of hanging until the test binary's
// timeout. It is no timing assertion: a correct store returns at once.
const hangGuard = 30 * time.Second

func testLock(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("excludes holders of the same name", func(t *testing.T) {
		const holders = 8
		s, ctx := open(t, newStore)
		var inside, overlaps, runs atomic.Int32
		errs := make([]error, holders)

		var wg sync.WaitGroup
		for i := range holders {
			wg.Go(func() {
				errs[i] = s.WithLock(ctx, "rotation", func(ctx context.Context) error {
					if inside.Add(1) != 1 {
						overlaps.Add(1)
					}
					defer inside.Add(-1)
					runs.Add(1)
					// Give the other holders time to enter if the lock
					// let them, and use storage while holding it.
					for range 10 {
						runtime.Gosched()
						if err := s.Ping(ctx); err != nil {
							return err
						}
					}
					return nil
				})
			})
		}
		wg.Wait()

		for i, err := range errs {
			checkErr(t, fmt.Sprintf("WithLock by holder %d", i), err, nil)
		}
		if got := runs.Load(); got != holders {
			t.Errorf("WithLock ran fn %d times, want %d", got, holders)
		}
		if got := overlaps.Load(); got != 0 {
			t.Errorf("fn was entered %d times while another holder was inside", got)
		}
	})

	t.Run("other names do not wait", func(t *testing.T) {
		s, ctx := open(t, newStore)
		release := holdLock(t, s, "rotation")
		defer release()

		guarded, cancel := context.WithTimeout(ctx, hangGuard)
		defer cancel()
		ran := false
		err := s.WithLock(guarded, "cleanup", func(context.Context) error {
			ran = true
			return nil
		})
		checkErr(t, "WithLock of another name while the first is held", err, nil)
		if !ran {
			t.Error("WithLock returned without running fn")
		}
	})

	t.Run("returns the error of fn and releases", func(t *testing.T) {
		s, ctx := open(t, newStore)
		errFailed := errors.New("rotation failed")
		err := s.WithLock(ctx, "rotation", func(context.Context) error { return errFailed })
		checkErr(t, "WithLock", err, errFailed)

		guarded, cancel := context.WithTimeout(ctx, hangGuard)
		defer cancel()
		err = s.WithLock(guarded, "rotation", func(context.Context) error { return nil })
		checkErr(t, "WithLock after fn failed", err, nil)
	})

	t.Run("canceled while waiting", func(t *testing.T) {
		s, ctx := open(t, newStore)
		release := holdLock(t, s, "rotation")
		defer release()

		canceled, cancel := context.WithCancel(ctx)
		cancel()
		ran := false
		err := s.WithLock(canceled, "rotation", func(context.Context) error {
			ran = true
			return nil
		})
		checkErr(t, "WithLock with a canceled context", err, context.Canceled)
		if ran {
			t.Error("WithLock ran fn without the lock")
		}
	})
}

// holdLock takes the named lock in another goroutine and keeps it until the
// returned function is called, which waits for the goroutine to end.
func holdLock(t *testing.T, s store.Store, name string) (release func()) {
	t.Helper()
	held := make(chan struct{})
	done := make(chan struct{})
	result := make(chan error, 1)
	go func() {
		result <- s.WithLock(t.Context(), name, func(context.Context) error {
			close(held)
			<-done
			return nil
		})
	}()

	select {
	case <-held:
	case err := <-result:
		t.Fatalf("WithLock(%q) returned before running fn: %v", name, err)
	}
	return func() {
		close(done)
		if err := <-result; err != nil {
			t.Errorf("WithLock(%q) failed: %v", name, err)
		}
	}
}
