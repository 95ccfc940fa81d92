package jwks

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatepass/gatepass/shared/verify"
)

// SkippedKey is a JWK that ParseKeySet left out, with the reason.
type SkippedKey struct {
	Index  int
	KeyID  string
	Reason string
}

// minRSABits is the smallest RSA modulus kept. verify.Verifier rejects
// tokens of smaller keys too, so a smaller key could only cause denials.
const minRSABits = 2048

// privateMembers are the JWK members that carry private key material (RFC
// 7518, section 6): "d" of EC, RSA and OKP keys, the RSA prime factors and
// CRT values, and "k" of symmetric keys.
var privateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// ParseKeySet decodes a JWK Set document (RFC 7517, section 5) and returns
// its signature verification keys. It fails when the document is not a JWK
// Set or holds no usable key. It skips, and reports in skipped, the keys
// that cannot verify gatepass tokens or should not be trusted:
//   - symmetric keys and keys that carry private key material;
//   - keys for encryption, or whose key_ops lack "verify";
//   - keys published for an algorithm outside verify.Algorithms, or for one
//     that does not fit their type;
//   - EC keys off P-256 and RSA keys under 2048 bits;
//   - keys without a kid, duplicate kids and key types go-jose does not know.
func ParseKeySet(document []byte) (keys []verify.Key, skipped []SkippedKey, err error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(document, &set); err != nil {
		return nil, nil, fmt.Errorf("decoding JWK Set: %w", err)
	}
	if set.Keys == nil {
		return nil, nil, errors.New(`decoding JWK Set: the document has no "keys" array`)
	}

	seen := make(map[string]bool, len(set.Keys))
	for index, raw := range set.Keys {
		key, reason := parseKey(raw)
		if reason == "" && seen[key.ID] {
			reason = "another key in the set has the same kid"
		}
		if reason != "" {
			skipped = append(skipped, SkippedKey{Index: index, KeyID: key.ID, Reason: reason})
			continue
		}
		seen[key.ID] = true
		keys = append(keys, key)
	}

	if len(keys) == 0 {
		return nil, skipped, fmt.Errorf("the JWK Set contains %d keys and none of them can verify tokens", len(set.Keys))
	}
	return keys, skipped, nil
}

// parseKey converts one JWK to a verify.Key, or returns why it cannot be
// used. The returned key carries the kid even when it is rejected, so the
// reason can name it.
func parseKey(raw json.RawMessage) (verify.Key, string) {
	var header struct {
		KeyID  string   `json:"kid"`
		Type   string   `json:"kty"`
		Use    string   `json:"use"`
		KeyOps []string `json:"key_ops"`
	}
	if err := json.Unmarshal(raw, &header); err != nil {
		return verify.Key{}, fmt.Sprintf("not a valid JWK object: %v", err)
	}
	key := verify.Key{ID: header.KeyID}

	switch {
	case header.KeyID == "":
		return key, "no kid"
	case header.Type == "oct":
		return key, "symmetric keys are never accepted"
	case header.Use != "" && header.Use != "sig":
		return key, fmt.Sprintf("use is %q, not \"sig\"", header.Use)
	case header.KeyOps != nil && !slices.Contains(header.KeyOps, "verify"):
		return key, fmt.Sprintf("key_ops is %q, which does not include \"verify\"", header.KeyOps)
	}
	if member := privateMember(raw); member != "" {
		return key, fmt.Sprintf("it contains the private key member %q: the issuer publishes private key material, so rotate this key at once", member)
	}

	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return key, fmt.Sprintf("invalid %s key: %v", header.Type, err)
	}
	public := jwk.Public()
	if public.Key == nil || !public.Valid() {
		return key, "not a valid public key"
	}

	switch public.Key.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
	default:
		return key, fmt.Sprintf("key type %T is not supported", public.Key)
	}
	if jwk.Algorithm != "" && !slices.Contains(verify.Algorithms, jwk.Algorithm) {
		return key, fmt.Sprintf("alg %q is not one of %v", jwk.Algorithm, verify.Algorithms)
	}
	if reason := checkPublicKey(jwk.Algorithm, public.Key); reason != "" {
		return key, reason
	}

	key.Algorithm = jwk.Algorithm
	key.Public = public.Key
	return key, ""
}

// privateMember returns the first private key member raw contains, or "".
func privateMember(raw json.RawMessage) string {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		return ""
	}
	for _, name := range privateMembers {
		if _, found := members[name]; found {
			return name
		}
	}
	return ""
}

// checkPublicKey returns why public cannot verify gatepass tokens under alg,
// or "" when it can. An empty alg stands for whichever algorithm fits the
// key type.
func checkPublicKey(alg string, public crypto.PublicKey) string {
	switch public := public.(type) {
	case *ecdsa.PublicKey:
		if alg != "" && alg != "ES256" {
			return fmt.Sprintf("alg is %q but the key is an EC key, which needs ES256", alg)
		}
		if public.Curve != elliptic.P256() {
			return fmt.Sprintf("EC key on curve %s, only P-256 (ES256) is supported", public.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		if alg != "" && alg != "RS256" {
			return fmt.Sprintf("alg is %q but the key is an RSA key, which needs RS256", alg)
		}
		if bits := public.N.BitLen(); bits < minRSABits {
			return fmt.Sprintf("RSA key of %d bits, the minimum is %d", bits, minRSABits)
		}
	case ed25519.PublicKey:
		if alg != "" && alg != "EdDSA" {
			return fmt.Sprintf("alg is %q but the key is an Ed25519 key, which needs EdDSA", alg)
		}
	}
	return ""
}
