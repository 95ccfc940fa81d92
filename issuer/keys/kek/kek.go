// Package kek holds the issuer's key-encryption key (KEK): the secret that
// encrypts signing keys and other sensitive values at rest, and from which
// purpose-specific keys such as the HMAC key for secret hashes are derived.
//
// The KEK is 32 bytes. Production deployments pass it base64-encoded in
// GATEPASS_KEY_ENCRYPTION_KEY; the embedded single-node default keeps it in
// a file in the data directory, created on first start.
package kek

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// EnvVar is the environment variable that holds the base64-encoded KEK.
const EnvVar = "GATEPASS_KEY_ENCRYPTION_KEY"

// Size is the length of a KEK in bytes.
const Size = 32

// sealVersion is the first byte of every sealed blob, so that a later change
// of the format can tell old blobs apart.
const sealVersion = 1

// HKDF info strings. The sealing key and every key from DeriveKey use
// distinct prefixes, so no label passed to DeriveKey can yield the sealing
// key.
const (
	sealInfo         = "gatepass/kek/seal/v1"
	derivePrefixInfo = "gatepass/kek/derive/"
)

// ErrOpen is returned by Open when a blob was not sealed by this KEK with
// the same additional data, or was altered.
var ErrOpen = errors.New("sealed data cannot be opened with this key-encryption key")

// Key is a key-encryption key. It is safe for concurrent use. Its String,
// GoString and LogValue methods never reveal the key.
type Key struct {
	secret []byte
	aead   cipher.AEAD
}

// Parse decodes a base64 KEK, in standard or URL encoding with or without
// padding, as found in GATEPASS_KEY_ENCRYPTION_KEY. Surrounding whitespace
// is ignored.
func Parse(value string) (*Key, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, fmt.Errorf("key-encryption key is empty: set %s to %d random bytes in base64 (for example the output of `openssl rand -base64 %d`)", EnvVar, Size, Size)
	}

	secret, err := decodeBase64(value)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key is not valid base64 (standard or URL alphabet): %w", err)
	}
	if len(secret) != Size {
		return nil, fmt.Errorf("key-encryption key decodes to %d bytes, want %d: generate one with `openssl rand -base64 %d`", len(secret), Size, Size)
	}
	return newKey(secret)
}

// Generate returns a new random KEK.
func Generate() (*Key, error) {
	secret := make([]byte, Size)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("generating key-encryption key: %w", err)
	}
	return newKey(secret)
}

func newKey(secret []byte) (*Key, error) {
	sealKey, err := hkdf.Key(sha256.New, secret, nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("deriving sealing key: %w", err)
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("creating AES-256 cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("creating AES-GCM: %w", err)
	}
	return &Key{secret: secret, aead: aead}, nil
}

// decodeBase64 accepts the four common base64 variants.
func decodeBase64(value string) ([]byte, error) {
	var firstErr error
	for _, encoding := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	} {
		decoded, err := encoding.DecodeString(value)
		if err == nil {
			return decoded, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// Encode returns the KEK in standard base64, the form Parse and the key file
// accept. It is meant for moving the key of the embedded default into
// GATEPASS_KEY_ENCRYPTION_KEY. Never log it.
func (k *Key) Encode() string {
	return base64.StdEncoding.EncodeToString(k.secret)
}

// Seal encrypts plaintext with AES-256-GCM under a fresh random 96-bit nonce.
// additionalData is authenticated but not encrypted: Open succeeds only with
// the same value, so binding a blob to its row id (such as the key id of a
// signing key) stops it from being moved to another row.
func (k *Key) Seal(plaintext, additionalData []byte) ([]byte, error) {
	nonceSize := k.aead.NonceSize()
	sealed := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+k.aead.Overhead())
	sealed[0] = sealVersion
	nonce := sealed[1 : 1+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generating nonce: %w", err)
	}
	return k.aead.Seal(sealed, nonce, plaintext, additionalData), nil
}

// Open decrypts a blob from Seal. It returns an error wrapping ErrOpen when
// the blob was sealed under another KEK or other additional data, or was
// altered.
func (k *Key) Open(sealed, additionalData []byte) ([]byte, error) {
	nonceSize := k.aead.NonceSize()
	if len(sealed) < 1+nonceSize+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: blob is %d bytes, shorter than the %d bytes of version, nonce and tag", ErrOpen, len(sealed), 1+nonceSize+k.aead.Overhead())
	}
	if sealed[0] != sealVersion {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrOpen, sealed[0])
	}

	nonce := sealed[1 : 1+nonceSize]
	plaintext, err := k.aead.Open(nil, nonce, sealed[1+nonceSize:], additionalData)
	if err != nil {
		return nil, fmt.Errorf("%w: wrong key-encryption key, wrong additional data or altered blob", ErrOpen)
	}
	return plaintext, nil
}

// DeriveKey returns a 32-byte key for one purpose, derived from the KEK with
// HKDF-SHA256 (RFC 5869) using label as the info string. Each purpose must
// use its own label, such as "secret-hash". The same label always yields the
// same key.
func (k *Key) DeriveKey(label string) []byte {
	derived, err := hkdf.Key(sha256.New, k.secret, nil, derivePrefixInfo+label, 32)
	if err != nil {
		// hkdf.Key fails only for output longer than 255 hash lengths or,
		// in FIPS 140-only mode, for secrets under 112 bits; 32 bytes from a
		// 256-bit secret meet both limits.
		panic(fmt.Sprintf("kek: HKDF-SHA256 failed for a 32-byte key: %v", err))
	}
	return derived
}

// String returns a placeholder, so that printing a Key reveals nothing.
func (k *Key) String() string { return "kek.Key(redacted)" }

// GoString returns a placeholder, so that %#v reveals nothing.
func (k *Key) GoString() string { return k.String() }

// LogValue implements slog.LogValuer, so that logging a Key reveals nothing.
func (k *Key) LogValue() slog.Value { return slog.StringValue(k.String()) }
