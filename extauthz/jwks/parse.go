package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
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

// ParseKeySet decodes a JWK Set document (RFC 7517, section 5) and returns
// its signature verification keys. It skips, and reports in skipped, keys
// that cannot verify gatepass tokens: symmetric keys, keys for encryption,
// keys published for an algorithm outside verify.Algorithms, keys without
// a kid, duplicate kids and key types go-jose does not know. It fails when
// the document is not a JWK Set or holds no usable key.
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
		KeyID string `json:"kid"`
		Type  string `json:"kty"`
		Use   string `json:"use"`
	}
	if err := json.Unmarshal(raw, &header); err != nil {
		return verify.Key{}, fmt.Sprintf("not a JSON object: %v", err)
	}
	key := verify.Key{ID: header.KeyID}

	switch {
	case header.KeyID == "":
		return key, "no kid"
	case header.Type == "oct":
		return key, "symmetric keys are never accepted"
	case header.Use != "" && header.Use != "sig":
		return key, fmt.Sprintf("use is %q, not \"sig\"", header.Use)
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

	key.Algorithm = jwk.Algorithm
	key.Public = public.Key
	return key, ""
}
