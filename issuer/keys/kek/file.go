package kek

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// maxFileSize bounds how much of a key file is read. A base64 KEK with a
// line break is 45 bytes.
const maxFileSize = 1 << 10

// LoadOrCreateFile returns the KEK stored base64-encoded in the file at path,
// creating the file with a new random key and mode 0600 if it does not exist.
// The file holds the same text GATEPASS_KEY_ENCRYPTION_KEY accepts, so the
// key can be moved there later.
//
// An existing file that its group or other users may access is rejected,
// because anyone who can read it can decrypt the signing keys. On Windows,
// where Unix permission bits do not apply, the check is skipped.
//
// Concurrent first starts are safe: the file appears atomically with its
// full content, and every caller ends up with the same key.
func LoadOrCreateFile(path string) (*Key, error) {
	key, err := loadFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}

	key, err = Generate()
	if err != nil {
		return nil, err
	}
	if err := createFile(path, key); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created the file first; use its key.
			return loadFile(path)
		}
		return nil, err
	}
	return key, nil
}

// loadFile reads and parses the key file, checking its permissions. A
// missing file is an error wrapping fs.ErrNotExist.
func loadFile(path string) (*Key, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening key-encryption key file: %w", err)
	}
	defer file.Close()

	info, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("checking key-encryption key file %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("key-encryption key file %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key-encryption key file %s has mode %04o, which lets other users read or change it: run `chmod 600 %s`", path, info.Mode().Perm(), path)
	}

	content, err := io.ReadAll(io.LimitReader(file, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading key-encryption key file %s: %w", path, err)
	}
	if len(content) > maxFileSize {
		return nil, fmt.Errorf("key-encryption key file %s is longer than %d bytes, so it does not hold a base64 key", path, maxFileSize)
	}

	key, err := Parse(string(content))
	if err != nil {
		return nil, fmt.Errorf("key-encryption key file %s: %w", path, err)
	}
	return key, nil
}

// createFile writes key to a temporary file in the same directory and links
// it to path, which fails with fs.ErrExist instead of replacing an existing
// file. Readers thus never see a partly written key.
func createFile(path string, key *Key) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating directory %s for the key-encryption key: %w", dir, err)
	}

	temp, err := os.CreateTemp(dir, ".kek-*")
	if err != nil {
		return fmt.Errorf("creating key-encryption key file in %s: %w", dir, err)
	}
	defer os.Remove(temp.Name())

	// CreateTemp already uses mode 0600, and Chmod keeps it so if that changes.
	if err := temp.Chmod(0o600); err != nil {
		temp.Close()
		return fmt.Errorf("setting mode 0600 on %s: %w", temp.Name(), err)
	}
	if _, err := temp.WriteString(key.Encode() + "\n"); err != nil {
		temp.Close()
		return fmt.Errorf("writing key-encryption key to %s: %w", temp.Name(), err)
	}
	if err := temp.Sync(); err != nil {
		temp.Close()
		return fmt.Errorf("syncing key-encryption key file %s: %w", temp.Name(), err)
	}
	if err := temp.Close(); err != nil {
		return fmt.Errorf("closing key-encryption key file %s: %w", temp.Name(), err)
	}

	if err := os.Link(temp.Name(), path); err != nil {
		return fmt.Errorf("creating key-encryption key file %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir makes a new directory entry durable, so that a crash cannot lose
// the key file after signing keys sealed under it were stored. Windows cannot
// sync directories, so there it does nothing.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	handle, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening directory %s to sync the key-encryption key file: %w", dir, err)
	}
	defer handle.Close()
	if err := handle.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s after creating the key-encryption key file: %w", dir, err)
	}
	return nil
}
