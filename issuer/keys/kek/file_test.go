package kek

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateFileCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "kek")

	created, err := LoadOrCreateFile(path)
	if err != nil {
		t.Fatalf("LoadOrCreateFile on a missing file: %v", err)
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file was not created: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", mode)
	}

	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(content)); got != created.Encode() {
		t.Error("key file does not hold the returned key in base64")
	}

	loaded, err := LoadOrCreateFile(path)
	if err != nil {
		t.Fatalf("LoadOrCreateFile on the existing file: %v", err)
	}
	if !bytes.Equal(loaded.DeriveKey("x"), created.DeriveKey("x")) {
		t.Error("second call returned another key than the one created")
	}

	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("data directory holds %d entries, want only the key file", len(entries))
	}
}

func TestLoadOrCreateFileRejects(t *testing.T) {
	valid, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantErr string
	}{
		{name: "world readable", content: valid.Encode(), mode: 0o644, wantErr: "chmod 600"},
		{name: "group readable", content: valid.Encode(), mode: 0o640, wantErr: "chmod 600"},
		{name: "group writable", content: valid.Encode(), mode: 0o620, wantErr: "chmod 600"},
		{name: "empty", content: "", mode: 0o600, wantErr: "is empty"},
		{name: "wrong length", content: "c2hvcnQ=", mode: 0o600, wantErr: "want 32"},
		{name: "oversized", content: strings.Repeat("A", 2000), mode: 0o600, wantErr: "longer than"},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "kek")
			if err := os.WriteFile(path, []byte(test.content), test.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, test.mode); err != nil { // not subject to umask
				t.Fatal(err)
			}

			_, err := LoadOrCreateFile(path)
			if err == nil || !strings.Contains(err.Error(), test.wantErr) {
				t.Fatalf("LoadOrCreateFile error = %v, want one containing %q", err, test.wantErr)
			}
			content, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(content) != test.content {
				t.Error("rejected key file was changed")
			}
		})
	}
}

func TestLoadOrCreateFileDirectory(t *testing.T) {
	path := t.TempDir()
	if _, err := LoadOrCreateFile(path); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("LoadOrCreateFile on a directory: error = %v, want \"not a regular file\"", err)
	}
}

func TestLoadOrCreateFileConcurrentFirstStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek")
	const starters = 8

	keys := make([]*Key, starters)
	errs := make([]error, starters)
	var wg sync.WaitGroup
	for i := range starters {
		wg.Go(func() {
			keys[i], errs[i] = LoadOrCreateFile(path)
		})
	}
	wg.Wait()

	for i := range starters {
		if errs[i] != nil {
			t.Fatalf("starter %d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i].DeriveKey("x"), keys[0].DeriveKey("x")) {
			t.Errorf("starter %d got another key than starter 0", i)
		}
	}
}
