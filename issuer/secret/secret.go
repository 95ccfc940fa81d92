// Package secret creates, parses and hashes credential secrets and refresh
// tokens.
//
// A credential secret has the form
//
//	<prefix>_<credential id><key><checksum>
//
// where the credential id is 32 lowercase hex digits, the key is 256 random
// bits in 43 base62 digits, and the checksum is the CRC-32 (IEEE) of
// everything before it in 6 base62 digits. The embedded id lets /token find
// the stored row by primary key, and the checksum lets it reject a mistyped
// secret without touching storage and lets secret scanners recognise leaks.
//
// A refresh token has the form <prefix>r_<key><checksum>.
//
// Both are stored only as an HMAC-SHA256 under a server key. The secrets are
// uniformly random 256-bit values, so a slow password hash would add no
// protection and would only cap throughput.
package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"regexp"
	"sync"
)

const (
	idLength       = 32
	keyLength      = 43
	checksumLength = 6
	keyBytes       = 32
)

// ErrMalformed means the value does not have the shape of a secret with the
// configured prefix.
var ErrMalformed = errors.New("malformed secret")

// ErrChecksum means the value has the right shape but a wrong checksum,
// usually a typo or a truncated copy.
var ErrChecksum = errors.New("secret checksum mismatch")

var prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// ValidatePrefix reports whether prefix may start secrets: 1 to 16
// lowercase letters and digits, starting with a letter.
func ValidatePrefix(prefix string) error {
	if !prefixPattern.MatchString(prefix) {
		return fmt.Errorf("invalid secret prefix %q: use 1 to 16 lowercase letters and digits, starting with a letter", prefix)
	}
	return nil
}

// Codec creates and parses secrets with one prefix and hashes them with one
// key. It is safe for concurrent use.
type Codec struct {
	credentialPrefix string
	refreshPrefix    string
	hashKey          []byte

	// macs holds keyed HMAC-SHA256 states for reuse, because keying one
	// costs two block hashes and allocations on every /token request.
	macs sync.Pool
}

// NewCodec returns a Codec for prefix whose hashes are keyed by hashKey,
// which must be at least 32 bytes.
func NewCodec(prefix string, hashKey []byte) (*Codec, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	if len(hashKey) < 32 {
		return nil, fmt.Errorf("secret hash key is %d bytes, need at least 32", len(hashKey))
	}
	codec := &Codec{
		credentialPrefix: prefix + "_",
		refreshPrefix:    prefix + "r_",
		hashKey:          append([]byte(nil), hashKey...),
	}
	codec.macs.New = func() any { return hmac.New(sha256.New, codec.hashKey) }
	return codec, nil
}

// NewCredentialID returns a random credential id of 32 hex digits.
func NewCredentialID() string {
	var raw [16]byte
	rand.Read(raw[:])
	return hex.EncodeToString(raw[:])
}

// ValidCredentialID reports whether id has the form NewCredentialID
// returns.
func ValidCredentialID(id string) bool {
	return isHexID(id)
}

// NewCredentialSecret returns a fresh secret for credentialID, which must
// come from NewCredentialID.
func (c *Codec) NewCredentialSecret(credentialID string) (string, error) {
	if !isHexID(credentialID) {
		return "", fmt.Errorf("credential id %q is not 32 lowercase hex digits", credentialID)
	}
	body := c.credentialPrefix + credentialID + randomKey()
	return body + checksum(body), nil
}

// ParseCredentialSecret checks the shape and checksum of value and returns
// the credential id it embeds. It touches no storage.
func (c *Codec) ParseCredentialSecret(value string) (credentialID string, err error) {
	body, err := c.checkFrame(value, c.credentialPrefix, idLength+keyLength)
	if err != nil {
		return "", err
	}

	credentialID = body[len(c.credentialPrefix) : len(c.credentialPrefix)+idLength]
	if !isHexID(credentialID) || !isBase62(body[len(c.credentialPrefix)+idLength:]) {
		return "", ErrMalformed
	}
	return credentialID, nil
}

// HashCredentialSecret returns the stored form of a credential secret.
func (c *Codec) HashCredentialSecret(value string) []byte {
	return c.hash("credential:", value)
}

// NewRefreshToken returns a fresh random refresh token.
func (c *Codec) NewRefreshToken() string {
	body := c.refreshPrefix + randomKey()
	return body + checksum(body)
}

// ChildRefreshToken derives the token that replaces parent. Deriving it
// instead of drawing it at random lets concurrent refreshes of one parent
// inside the grace period all return the same replacement without storing
// it in plaintext.
func (c *Codec) ChildRefreshToken(parent string) string {
	mac := hmac.New(sha256.New, c.hashKey)
	mac.Write([]byte("refresh-child:"))
	mac.Write([]byte(parent))
	body := c.refreshPrefix + encodeBase62(mac.Sum(nil))
	return body + checksum(body)
}

// CheckRefreshToken checks the shape and checksum of a refresh token.
func (c *Codec) CheckRefreshToken(value string) error {
	body, err := c.checkFrame(value, c.refreshPrefix, keyLength)
	if err != nil {
		return err
	}
	if !isBase62(body[len(c.refreshPrefix):]) {
		return ErrMalformed
	}
	return nil
}

// HashRefreshToken returns the stored form of a refresh token.
func (c *Codec) HashRefreshToken(value string) []byte {
	return c.hash("refresh:", value)
}

// Equal compares two hashes in constant time.
func Equal(a, b []byte) bool {
	return hmac.Equal(a, b)
}

// checkFrame checks prefix, length and checksum and returns value without
// its checksum.
func (c *Codec) checkFrame(value, prefix string, bodyLength int) (string, error) {
	if len(value) != len(prefix)+bodyLength+checksumLength || value[:len(prefix)] != prefix {
		return "", ErrMalformed
	}

	body := value[:len(value)-checksumLength]
	if !hmac.Equal([]byte(checksum(body)), []byte(value[len(body):])) {
		return "", ErrChecksum
	}
	return body, nil
}

func (c *Codec) hash(domain, value string) []byte {
	mac := c.macs.Get().(hash.Hash)
	defer c.macs.Put(mac)

	mac.Reset()
	io.WriteString(mac, domain)
	io.WriteString(mac, value)
	return mac.Sum(nil)
}

func randomKey() string {
	var raw [keyBytes]byte
	rand.Read(raw[:])
	return encodeBase62(raw[:])
}

func checksum(body string) string {
	sum := crc32.ChecksumIEEE([]byte(body))
	return encodeBase62Uint(uint64(sum), checksumLength)
}

func isHexID(s string) bool {
	if len(s) != idLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
