package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
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

// sign encodes claims and signs them. The token is assembled in one buffer
// sized up front, and the signing input is a prefix of that buffer, so
// apart from the claims encoding, the signature and the final string only
// the buffer is allocated.
func (k *signingKey) sign(claims jwt.Claims) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding token claims: %w", err)
	}

	encoding := base64.RawURLEncoding
	token := make([]byte, 0, len(k.header)+encoding.EncodedLen(len(payload))+1+encoding.EncodedLen(k.signatureSize))
	token = append(token, k.header...)
	token = encoding.AppendEncode(token, payload)

	signature, err := k.signature(token)
	if err != nil {
		return "", fmt.Errorf("signing token with key %s: %w", k.id, err)
	}
	token = append(token, '.')
	token = encoding.AppendEncode(token, signature)
	return string(token), nil
}

// signature returns the JWS signature of input (RFC 7518, section 3). It
// calls the standard library directly, because jwt.SigningMethod copies
// the input and, for ES256, decodes the signature into big.Int values
// first.
func (k *signingKey) signature(input []byte) ([]byte, error) {
	switch k.method {
	case jwt.SigningMethodES256:
		private, ok := k.private.(*ecdsa.PrivateKey)
		if !ok {
			break
		}
		digest := sha256.Sum256(input)
		der, err := ecdsa.SignASN1(rand.Reader, private, digest[:])
		if err != nil {
			return nil, err
		}
		return rawECDSASignature(der, es256ScalarSize)

	case jwt.SigningMethodRS256:
		private, ok := k.private.(*rsa.PrivateKey)
		if !ok {
			break
		}
		digest := sha256.Sum256(input)
		return rsa.SignPKCS1v15(nil, private, crypto.SHA256, digest[:])

	case jwt.SigningMethodEdDSA:
		private, ok := k.private.(ed25519.PrivateKey)
		if !ok {
			break
		}
		return ed25519.Sign(private, input), nil
	}
	return nil, fmt.Errorf("a %T cannot sign %s tokens", k.private, k.method.Alg())
}

// es256ScalarSize is the length in bytes of r and s in an ES256 signature.
const es256ScalarSize = 32

// errECDSASignature means the standard library returned an ECDSA signature
// that is not the DER encoding of two integers of the curve's size.
var errECDSASignature = errors.New("the ECDSA signature is not a DER SEQUENCE of two positive integers of the curve size")

// rawECDSASignature converts an ASN.1 DER ECDSA signature to the JWS form:
// r and s as big-endian integers of size bytes each, r first (RFC 7518,
// section 3.4).
func rawECDSASignature(der []byte, size int) ([]byte, error) {
	var r, s []byte
	var sequence cryptobyte.String
	input := cryptobyte.String(der)
	if !input.ReadASN1(&sequence, asn1.SEQUENCE) || !input.Empty() ||
		!sequence.ReadASN1Integer(&r) || !sequence.ReadASN1Integer(&s) || !sequence.Empty() ||
		len(r) > size || len(s) > size {
		return nil, errECDSASignature
	}

	// ReadASN1Integer strips leading zeros, so each value is padded back
	// on the left to the fixed size.
	raw := make([]byte, 2*size)
	copy(raw[size-len(r):size], r)
	copy(raw[2*size-len(s):], s)
	return raw, nil
}
