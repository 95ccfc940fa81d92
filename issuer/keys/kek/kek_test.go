package kek

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func mustGenerate(t *testing.T) *Key {
	t.Helper()
	key, err := Generate()
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return key
}

func TestParse(t *testing.T) {
	secret := bytes.Repeat([]byte{0xfb, 0xff, 0x01}, 11)[:Size] // encodes with + / - _
	tests := []struct {
		name    string
		value   string
		wantErr string
	}{
		{name: "standard padded", value: base64.StdEncoding.EncodeToString(secret)},
		{name: "standard raw", value: base64.RawStdEncoding.EncodeToString(secret)},
		{name: "URL padded", value: base64.URLEncoding.EncodeToString(secret)},
		{name: "URL raw", value: base64.RawURLEncoding.EncodeToString(secret)},
		{name: "surrounding whitespace", value: " " + base64.StdEncoding.EncodeToString(secret) + "\n"},
		{name: "empty", value: "  ", wantErr: "is empty"},
		{name: "not base64", value: "not*base64", wantErr: "not valid base64"},
		{name: "too short", value: base64.StdEncoding.EncodeToString(secret[:16]), wantErr: "decodes to 16 bytes, want 32"},
		{name: "too long", value: base64.StdEncoding.EncodeToString(append(secret, 0)), wantErr: "decodes to 33 bytes, want 32"},
	}
	want, err := newKey(secret)
	if err != nil {
		t.Fatal(err)
	}

	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			key, err := Parse(test.value)
			if test.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), test.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, test.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !bytes.Equal(key.DeriveKey("x"), want.DeriveKey("x")) {
				t.Error("parsed key differs from the encoded secret")
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	key := mustGenerate(t)
	parsed, err := Parse(key.Encode())
	if err != nil {
		t.Fatalf("Parse(Encode()): %v", err)
	}
	if !bytes.Equal(parsed.DeriveKey("x"), key.DeriveKey("x")) {
		t.Error("Parse(Encode()) yields another key")
	}
}

func TestSealOpen(t *testing.T) {
	key := mustGenerate(t)
	other := mustGenerate(t)
	plaintext := []byte("private key bytes")
	aad := []byte("signing-key/kid-1")

	sealed, err := key.Seal(plaintext, aad)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	if bytes.Contains(sealed, plaintext) {
		t.Fatal("sealed blob contains the plaintext")
	}

	opened, err := key.Open(sealed, aad)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !bytes.Equal(opened, plaintext) {
		t.Fatalf("Open = %q, want %q", opened, plaintext)
	}

	again, err := key.Seal(plaintext, aad)
	if err != nil {
		t.Fatalf("second Seal: %v", err)
	}
	if bytes.Equal(again, sealed) {
		t.Error("two seals of the same plaintext are equal, so the nonce was reused")
	}

	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	wrongVersion := bytes.Clone(sealed)
	wrongVersion[0] = 9

	failures := []struct {
		name   string
		key    *Key
		sealed []byte
		aad    []byte
	}{
		{name: "other KEK", key: other, sealed: sealed, aad: aad},
		{name: "other additional data", key: key, sealed: sealed, aad: []byte("signing-key/kid-2")},
		{name: "missing additional data", key: key, sealed: sealed, aad: nil},
		{name: "altered ciphertext", key: key, sealed: tampered, aad: aad},
		{name: "unknown version", key: key, sealed: wrongVersion, aad: aad},
		{name: "truncated", key: key, sealed: sealed[:10], aad: aad},
		{name: "empty", key: key, sealed: nil, aad: aad},
	}
	for _, failure := range failures {
		t.Run(failure.name, func(t *testing.T) {
			_, err := failure.key.Open(failure.sealed, failure.aad)
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open error = %v, want ErrOpen", err)
			}
		})
	}
}

func TestDeriveKey(t *testing.T) {
	key := mustGenerate(t)
	other := mustGenerate(t)

	first := key.DeriveKey("secret-hash")
	if len(first) != 32 {
		t.Fatalf("derived key has %d bytes, want 32", len(first))
	}
	if !bytes.Equal(first, key.DeriveKey("secret-hash")) {
		t.Error("same label yields different keys")
	}
	if bytes.Equal(first, key.DeriveKey("token-hash")) {
		t.Error("different labels yield the same key")
	}
	if bytes.Equal(first, other.DeriveKey("secret-hash")) {
		t.Error("different KEKs yield the same key")
	}
	if bytes.Equal(first, key.secret) {
		t.Error("derived key equals the KEK itself")
	}
}

func TestKeyRedactedWhenPrinted(t *testing.T) {
	key := mustGenerate(t)
	encoded := key.Encode()

	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("loaded", "kek", key)

	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", key),
		"%+v":  fmt.Sprintf("%+v", key),
		"%#v":  fmt.Sprintf("%#v", key),
		"%s":   fmt.Sprintf("%s", key),
		"slog": logged.String(),
	}
	for verb, output := range outputs {
		if strings.Contains(output, encoded) || !strings.Contains(output, "redacted") {
			t.Errorf("%s prints %q, want a redacted placeholder", verb, output)
		}
	}
}
