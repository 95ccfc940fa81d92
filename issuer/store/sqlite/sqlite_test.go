package sqlite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/issuer/store/sqlite"
	"github.com/gatepass/gatepass/issuer/store/storetest"
)

func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q) failed: %v", path, err)
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
		return openStore(t, filepath.Join(t.TempDir(), "gatepass.db"))
	})
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	path := filepath.Join(dir, "gatepass.db")
	openStore(t, path)

	for _, check := range []struct {
		path string
		mode os.FileMode
	}{
		{path: dir, mode: 0o700 | os.ModeDir},
		{path: path, mode: 0o600},
	} {
		info, err := os.Stat(check.path)
		if err != nil {
			t.Fatalf("stat %s: %v", check.path, err)
		}
		if info.Mode() != check.mode {
			t.Errorf("%s has mode %v, want %v", check.path, info.Mode(), check.mode)
		}
	}
}

func TestOpenExistingKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatepass.db")
	first, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("first Open failed: %v", err)
	}
	if err := first.CreateClient(t.Context(), store.Client{ID: "svc-a"}); err != nil {
		t.Fatalf("CreateClient failed: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close failed: %v", err)
	}

	if err := sqlite.Migrate(t.Context(), path); err != nil {
		t.Fatalf("Migrate of a migrated database failed: %v", err)
	}
	second := openStore(t, path)
	if _, err := second.GetClient(t.Context(), "svc-a"); err != nil {
		t.Errorf("GetClient after reopening failed: %v", err)
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a dir?x=1#frag%20", "gatepass.db")
	s := openStore(t, path)
	if err := s.CreateClient(t.Context(), store.Client{ID: "svc-a"}); err != nil {
		t.Fatalf("CreateClient failed: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the database is not at the path given: %v", err)
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if s, err := sqlite.Open(t.Context(), ""); err == nil {
		s.Close()
		t.Fatal("Open with an empty path succeeded, want an error")
	}
}

func BenchmarkGetCredential(b *testing.B) {
	storetest.BenchmarkGetCredential(b, openStore(b, filepath.Join(b.TempDir(), "gatepass.db")))
}

func BenchmarkRotateRefreshToken(b *testing.B) {
	storetest.BenchmarkRotateRefreshToken(b, openStore(b, filepath.Join(b.TempDir(), "gatepass.db")))
}
