package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

func TestLockSharedByStoresOfOneFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	// The same file, by a relative and an absolute path.
	first, err := Open(t.Context(), "gatepass.db")
	if err != nil {
		t.Fatalf("Open failed: %v", err)
	}
	defer first.Close()
	second, err := Open(t.Context(), filepath.Join(dir, "gatepass.db"))
	if err != nil {
		t.Fatalf("Open failed: %v", err)
	}
	defer second.Close()

	err = first.WithLock(t.Context(), "rotation", func(context.Context) error {
		value, ok := locks.Load(lockKey{second.path, "rotation"})
		if !ok || len(value.(chan struct{})) != 1 {
			t.Error("the lock the first store holds is not held for the second store")
		}
		return nil
	})
	if err != nil {
		t.Fatalf("WithLock failed: %v", err)
	}
}
