package jwks

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/gatepass/gatepass/extauthz/internal/testissuer"
)

func mustJWK(t *testing.T, id, alg string) json.RawMessage {
	t.Helper()
	key, err := testissuer.NewKey(id, alg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(key.JWK())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func keySet(t *testing.T, keys ...json.RawMessage) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// marshalJWK encodes key as a JWK with kid id and alg.
func marshalJWK(t *testing.T, key any, id, alg string) json.RawMessage {
	t.Helper()
	data, err := json.Marshal(jose.JSONWebKey{Key: key, KeyID: id, Algorithm: alg, Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseKeySet(t *testing.T) {
	ecPrivate, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecP384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaPrivate, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec := mustJWK(t, "ec", "ES256")
	rsaKey := mustJWK(t, "rsa", "RS256")
	ed := mustJWK(t, "ed", "EdDSA")
	symmetric, err := json.Marshal(jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "hmac", Algorithm: "HS256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	withField := func(raw json.RawMessage, field string, value any) json.RawMessage {
		var object map[string]any
		if err := json.Unmarshal(raw, &object); err != nil {
			t.Fatal(err)
		}
		if value == nil {
			delete(object, field)
		} else {
			object[field] = value
		}
		data, err := json.Marshal(object)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}

	tests := []struct {
		name        string
		document    []byte
		wantKIDs    []string
		wantSkipped int
		// wantReason must appear in the reason of the first skipped key.
		wantReason string
		wantErr    bool
	}{
		{name: "three key types", document: keySet(t, ec, rsaKey, ed), wantKIDs: []string{"ec", "rsa", "ed"}},
		{name: "key without alg kept", document: keySet(t, withField(ec, "alg", nil)), wantKIDs: []string{"ec"}},
		{name: "key without use kept", document: keySet(t, withField(ec, "use", nil)), wantKIDs: []string{"ec"}},
		{name: "symmetric key skipped", document: keySet(t, symmetric, ec), wantKIDs: []string{"ec"}, wantSkipped: 1},
		{name: "encryption key skipped", document: keySet(t, withField(rsaKey, "use", "enc"), ec), wantKIDs: []string{"ec"}, wantSkipped: 1},
		{name: "key without kid skipped", document: keySet(t, withField(rsaKey, "kid", nil), ec), wantKIDs: []string{"ec"}, wantSkipped: 1},
		{name: "duplicate kid skipped", document: keySet(t, ec, withField(rsaKey, "kid", "ec")), wantKIDs: []string{"ec"}, wantSkipped: 1},
		{name: "disallowed alg skipped", document: keySet(t, withField(rsaKey, "alg", "RS384"), ec), wantKIDs: []string{"ec"}, wantSkipped: 1},
		{name: "unknown key type skipped", document: keySet(t, json.RawMessage(`{"kty":"XYZ","kid":"x"}`), ec), wantKIDs: []string{"ec"}, wantSkipped: 1},
		{name: "point off the curve skipped", document: keySet(t, withField(ec, "y", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), ed), wantKIDs: []string{"ed"}, wantSkipped: 1},
		{name: "non-object key skipped", document: keySet(t, json.RawMessage(`"text"`), ec), wantKIDs: []string{"ec"}, wantSkipped: 1},
		{name: "private EC key skipped", document: keySet(t, marshalJWK(t, ecPrivate, "leak", "ES256"), ed), wantKIDs: []string{"ed"}, wantSkipped: 1, wantReason: `private key member "d"`},
		{name: "private RSA key skipped", document: keySet(t, marshalJWK(t, rsaPrivate, "leak", "RS256"), ed), wantKIDs: []string{"ed"}, wantSkipped: 1, wantReason: `private key member "d"`},
		{name: "RSA prime factor skipped", document: keySet(t, withField(rsaKey, "p", "AQAB"), ed), wantKIDs: []string{"ed"}, wantSkipped: 1, wantReason: `private key member "p"`},
		{name: "public half of private key kept", document: keySet(t, marshalJWK(t, ecPrivate.Public(), "ec", "ES256")), wantKIDs: []string{"ec"}},
		{name: "key_ops without verify skipped", document: keySet(t, withField(ec, "key_ops", []string{"encrypt"}), ed), wantKIDs: []string{"ed"}, wantSkipped: 1, wantReason: `does not include "verify"`},
		{name: "empty key_ops skipped", document: keySet(t, withField(ec, "key_ops", []string{}), ed), wantKIDs: []string{"ed"}, wantSkipped: 1, wantReason: "key_ops"},
		{name: "key_ops with verify kept", document: keySet(t, withField(ec, "key_ops", []string{"verify"})), wantKIDs: []string{"ec"}},
		{name: "EC key labelled RS256 skipped", document: keySet(t, withField(ec, "alg", "RS256"), ed), wantKIDs: []string{"ed"}, wantSkipped: 1, wantReason: "the key is an EC key"},
		{name: "RSA key labelled EdDSA skipped", document: keySet(t, withField(rsaKey, "alg", "EdDSA"), ed), wantKIDs: []string{"ed"}, wantSkipped: 1, wantReason: "the key is an RSA key"},
		{name: "Ed25519 key labelled ES256 skipped", document: keySet(t, withField(ed, "alg", "ES256"), ec), wantKIDs: []string{"ec"}, wantSkipped: 1, wantReason: "the key is an Ed25519 key"},
		{name: "P-384 key skipped", document: keySet(t, marshalJWK(t, ecP384.Public(), "p384", ""), ed), wantKIDs: []string{"ed"}, wantSkipped: 1, wantReason: "curve P-384"},
		{name: "1024-bit RSA key skipped", document: keySet(t, marshalJWK(t, rsa1024.Public(), "small", "RS256"), ed), wantKIDs: []string{"ed"}, wantSkipped: 1, wantReason: "RSA key of 1024 bits, the minimum is 2048"},
		{name: "only unusable keys", document: keySet(t, symmetric), wantErr: true, wantSkipped: 1},
		{name: "empty key list", document: []byte(`{"keys":[]}`), wantErr: true},
		{name: "no keys member", document: []byte(`{"other":[]}`), wantErr: true},
		{name: "not JSON", document: []byte(`<html>`), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, skipped, err := ParseKeySet(tt.document)
			if len(skipped) != tt.wantSkipped {
				t.Errorf("skipped %d keys (%+v), want %d", len(skipped), skipped, tt.wantSkipped)
			}
			if tt.wantReason != "" && (len(skipped) == 0 || !strings.Contains(skipped[0].Reason, tt.wantReason)) {
				t.Errorf("skipped %+v, want a first reason that mentions %q", skipped, tt.wantReason)
			}
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseKeySet returned %d keys, want an error", len(keys))
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKeySet failed: %v", err)
			}
			if len(keys) != len(tt.wantKIDs) {
				t.Fatalf("ParseKeySet returned %d keys, want %v", len(keys), tt.wantKIDs)
			}
			for i, key := range keys {
				if key.ID != tt.wantKIDs[i] {
					t.Errorf("key %d has kid %q, want %q", i, key.ID, tt.wantKIDs[i])
				}
				switch key.Public.(type) {
				case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
				default:
					t.Errorf("key %q has public key type %T", key.ID, key.Public)
				}
			}
		})
	}
}
