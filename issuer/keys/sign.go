package keys

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Sign returns claims as a compact JWT signed by the active key, with the
// headers typ "at+jwt" and kid, and the id of the key. It reads only memory:
// the key that signs is the latest activated one that has not retired at
// the current time, so replicas switch to the next key at its activation
// time even between refreshes.
func (m *Manager) Sign(claims jwt.Claims) (token string, kid string, err error) {
	key := m.snapshot.Load().signer(m.config.Now())
	if key == nil {
		return "", "", ErrNoSigningKey
	}
	token, err = key.sign(claims)
	if err != nil {
		return "", "", err
	}
	return token, key.id, nil
}

// base64Chunk is the input size that writeBase64 encodes per step. It is a
// multiple of 3, so the encoded chunks join without padding.
const base64Chunk = 768

// sign encodes claims and signs them. The token is assembled in one buffer
// sized up front, and the signing input is a prefix of that buffer, so
// apart from the claims encoding and the signature only the buffer is
// allocated.
func (k *signingKey) sign(claims jwt.Claims) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding token claims: %w", err)
	}

	encoding := base64.RawURLEncoding
	var token strings.Builder
	token.Grow(len(k.header) + encoding.EncodedLen(len(payload)) + 1 + encoding.EncodedLen(k.signatureSize))
	token.WriteString(k.header)
	writeBase64(&token, payload)

	// String does not copy, and later writes leave the returned prefix
	// unchanged.
	signature, err := k.method.Sign(token.String(), k.private)
	if err != nil {
		return "", fmt.Errorf("signing token with key %s: %w", k.id, err)
	}
	token.WriteByte('.')
	writeBase64(&token, signature)
	return token.String(), nil
}

// writeBase64 appends the unpadded base64url encoding of data to dst,
// through a buffer on the stack.
func writeBase64(dst *strings.Builder, data []byte) {
	var chunk [base64Chunk / 3 * 4]byte
	for len(data) > 0 {
		n := min(len(data), base64Chunk)
		encoded := chunk[:base64.RawURLEncoding.EncodedLen(n)]
		base64.RawURLEncoding.Encode(encoded, data[:n])
		dst.Write(encoded)
		data = data[n:]
	}
}
