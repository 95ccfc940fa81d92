package keys

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/issuer/store/sqlite"
)

// storePath returns the path of a new database for one test.
func storePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "db")
}

// openStore opens a new empty SQLite store.
func openStore(t testing.TB) store.Store {
	return openStoreAt(t, storePath(t))
}

// openStoreAt opens the SQLite store at path. Stores opened at one path
// share their data and, within the process, their locks, as issuer
// replicas on one database do.
func openStoreAt(t testing.TB, path string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("opening SQLite store %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing SQLite store %s: %v", path, err)
		}
	})
	return st
}
