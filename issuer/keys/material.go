package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/issuer/keys/kek"
	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/shared/claims"
)

// Supported signing algorithms (JWS "alg" values).
const (
	ES256 = "ES256" // ECDSA on P-256 with SHA-256
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256 and a 2048-bit key
	EdDSA = "EdDSA" // Ed25519
)

// DefaultAlgorithm is the algorithm of new keys when Config.Algorithm is empty.
const DefaultAlgorithm = ES256

// rsaBits is the modulus size of generated RSA keys.
const rsaBits = 2048

// algorithm describes how keys of one JWS algorithm are made and used.
type algorithm struct {
	method   jwt.SigningMethod
	generate func() (crypto.Signer, error)

	// fits reports whether public is a key of this algorithm.
	fits func(public crypto.PublicKey) bool
}

var algorithms = map[string]algorithm{
	ES256: {
		method: jwt.SigningMethodES256,
		generate: func() (crypto.Signer, error) {
			return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		},
		fits: func(public crypto.PublicKey) bool {
			key, ok := public.(*ecdsa.PublicKey)
			return ok && key.Curve == elliptic.P256()
		},
	},
	RS256: {
		method: jwt.SigningMethodRS256,
		generate: func() (crypto.Signer, error) {
			return rsa.GenerateKey(rand.Reader, rsaBits)
		},
		fits: func(public crypto.PublicKey) bool {
			key, ok := public.(*rsa.PublicKey)
			return ok && key.N.BitLen() >= rsaBits
		},
	},
	EdDSA: {
		method: jwt.SigningMethodEdDSA,
		generate: func() (crypto.Signer, error) {
			_, private, err := ed25519.GenerateKey(rand.Reader)
			return private, err
		},
		fits: func(public crypto.PublicKey) bool {
			_, ok := public.(ed25519.PublicKey)
			return ok
		},
	},
}

// lookupAlgorithm returns the description of name or an error listing the
// supported algorithms.
func lookupAlgorithm(name string) (algorithm, error) {
	alg, ok := algorithms[name]
	if !ok {
		return algorithm{}, fmt.Errorf("signing algorithm %q is not supported: use %s, %s or %s", name, ES256, RS256, EdDSA)
	}
	return alg, nil
}

// sealingData is the additional data that binds a sealed private key to its
// key id, so a sealed key copied into another row fails to open.
func sealingData(kid string) []byte {
	return []byte("gatepass signing key " + kid)
}

// generateKey creates a key pair of the named algorithm and returns it as a
// store row with the private key sealed under encryptionKey. Its id is the
// RFC 7638 thumbprint of the public key.
func generateKey(encryptionKey *kek.Key, algorithmName string, createdAt, activatesAt time.Time) (store.SigningKey, error) {
	alg, err := lookupAlgorithm(algorithmName)
	if err != nil {
		return store.SigningKey{}, err
	}
	private, err := alg.generate()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generating %s key: %w", algorithmName, err)
	}

	jwk := jose.JSONWebKey{Key: private.Public(), Algorithm: algorithmName, Use: "sig"}
	thumbprint, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("computing thumbprint of new %s key: %w", algorithmName, err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumbprint)
	publicJWK, err := jwk.MarshalJSON()
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encoding public JWK of key %s: %w", jwk.KeyID, err)
	}

	pkcs8, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encoding private key %s as PKCS #8: %w", jwk.KeyID, err)
	}
	sealed, err := encryptionKey.Seal(pkcs8, sealingData(jwk.KeyID))
	clear(pkcs8)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("sealing private key %s: %w", jwk.KeyID, err)
	}

	return store.SigningKey{
		ID:               jwk.KeyID,
		Algorithm:        algorithmName,
		SealedPrivateKey: sealed,
		PublicJWK:        publicJWK,
		CreatedAt:        createdAt,
		ActivatesAt:      activatesAt,
	}, nil
}

// publicKey is the verified public half of a stored key.
type publicKey struct {
	id        string
	algorithm string
	public    crypto.PublicKey

	// jwk is the public JWK as re-encoded from the parsed key, so the JWKS
	// never repeats stored fields other than the public parameters, kid,
	// alg and use.
	jwk json.RawMessage
}

// parsePublicKey decodes the public JWK of row and checks that it is a
// public key of the row's algorithm whose thumbprint is the row's id.
func parsePublicKey(row store.SigningKey) (*publicKey, error) {
	alg, err := lookupAlgorithm(row.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", row.ID, err)
	}

	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(row.PublicJWK); err != nil {
		return nil, fmt.Errorf("signing key %s: decoding public JWK: %w", row.ID, err)
	}
	if !jwk.IsPublic() || !jwk.Valid() {
		return nil, fmt.Errorf("signing key %s: stored JWK is not a valid public key", row.ID)
	}
	if !alg.fits(jwk.Key) {
		return nil, fmt.Errorf("signing key %s: stored JWK contains a %T, which is invalid for algorithm %s", row.ID, jwk.Key, row.Algorithm)
	}

	thumbprint, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: computing thumbprint: %w", row.ID, err)
	}
	if kid := base64.RawURLEncoding.EncodeToString(thumbprint); kid != row.ID || jwk.KeyID != row.ID {
		return nil, fmt.Errorf("signing key %s: stored JWK has kid %q and thumbprint %q, want both to equal the key id", row.ID, jwk.KeyID, kid)
	}

	canonical := jose.JSONWebKey{Key: jwk.Key, KeyID: row.ID, Algorithm: row.Algorithm, Use: "sig"}
	encoded, err := canonical.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("signing key %s: encoding public JWK: %w", row.ID, err)
	}
	return &publicKey{id: row.ID, algorithm: row.Algorithm, public: jwk.Key, jwk: encoded}, nil
}

// signingKey is a decrypted key ready to sign tokens.
type signingKey struct {
	id      string
	method  jwt.SigningMethod
	private crypto.Signer

	// header is the encoded JOSE header followed by the "." separator.
	header string

	// signatureSize is the length of a signature in bytes.
	signatureSize int
}

// errPrivateMismatch means a sealed private key does not belong to the
// public key stored next to it.
var errPrivateMismatch = errors.New("private key does not match the stored public key")

// openSigningKey decrypts the private key of row with encryptionKey and
// prepares it for signing. public must be the parsed public key of row.
func openSigningKey(encryptionKey *kek.Key, row store.SigningKey, public *publicKey) (*signingKey, error) {
	pkcs8, err := encryptionKey.Open(row.SealedPrivateKey, sealingData(row.ID))
	if err != nil {
		return nil, fmt.Errorf("decrypting signing key %s: %w; check that %s (or the key file of the embedded store) is the key the signing keys were created with", row.ID, err, kek.EnvVar)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(pkcs8)
	clear(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("decoding PKCS #8 private key of signing key %s: %w", row.ID, err)
	}

	private, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("signing key %s: PKCS #8 data contains a %T, which cannot sign", row.ID, parsed)
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if stored, ok := public.public.(equaler); !ok || !stored.Equal(private.Public()) {
		return nil, fmt.Errorf("signing key %s: %w", row.ID, errPrivateMismatch)
	}

	header, err := encodeHeader(row.Algorithm, row.ID)
	if err != nil {
		return nil, err
	}
	return &signingKey{
		id:            row.ID,
		method:        algorithms[row.Algorithm].method,
		private:       private,
		header:        header,
		signatureSize: signatureSize(private.Public()),
	}, nil
}

// encodeHeader returns the base64url JOSE header of tokens signed by key
// kid, followed by ".".
func encodeHeader(alg, kid string) (string, error) {
	header, err := json.Marshal(struct {
		Algorithm string `json:"alg"`
		KeyID     string `json:"kid"`
		Type      string `json:"typ"`
	}{alg, kid, claims.TokenType})
	if err != nil {
		return "", fmt.Errorf("encoding JOSE header for signing key %s: %w", kid, err)
	}
	return base64.RawURLEncoding.EncodeToString(header) + ".", nil
}

// signatureSize returns the length in bytes of a JWS signature by the key
// with the given public half.
func signatureSize(public crypto.PublicKey) int {
	if key, ok := public.(*rsa.PublicKey); ok {
		return key.Size()
	}
	return 64 // ES256 (two 32-byte integers) and Ed25519
}
