package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/shared/claims"
)

const (
	testIssuer   = "https://issuer.test"
	testAudience = "https://api.test"
)

// staticKeys is a KeySource over a fixed map.
type staticKeys map[string]Key

func (s staticKeys) Key(_ context.Context, kid string) (Key, error) {
	key, ok := s[kid]
	if !ok {
		return Key{}, ErrKeyNotFound
	}
	return key, nil
}

type unavailableKeys struct{}

func (unavailableKeys) Key(context.Context, string) (Key, error) {
	return Key{}, ErrKeysUnavailable
}

type signer struct {
	kid     string
	method  jwt.SigningMethod
	private crypto.PrivateKey
}

func (s signer) sign(t *testing.T, c claims.AccessToken, typ string) string {
	t.Helper()
	token := jwt.NewWithClaims(s.method, c)
	token.Header["kid"] = s.kid
	token.Header["typ"] = typ
	signed, err := token.SignedString(s.private)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return signed
}

func validClaims(now time.Time) claims.AccessToken {
	return claims.AccessToken{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    testIssuer,
			Subject:   "svc-a",
			Audience:  jwt.ClaimStrings{testAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
			ID:        "jti-1",
		},
		ClientID:     "svc-a",
		Scope:        claims.ScopeClaim{"read", "write"},
		CredentialID: "cred-1",
	}
}

func TestVerify(t *testing.T) {
	now := time.Now().Truncate(time.Second)

	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	keys := staticKeys{
		"ec":    {ID: "ec", Algorithm: "ES256", Public: &ecKey.PublicKey},
		"rsa":   {ID: "rsa", Algorithm: "RS256", Public: &rsaKey.PublicKey},
		"ed":    {ID: "ed", Algorithm: "EdDSA", Public: edKey.Public()},
		"ec-na": {ID: "ec-na", Public: &ecKey.PublicKey},
	}
	es := signer{kid: "ec", method: jwt.SigningMethodES256, private: ecKey}
	rs := signer{kid: "rsa", method: jwt.SigningMethodRS256, private: rsaKey}
	ed := signer{kid: "ed", method: jwt.SigningMethodEdDSA, private: edKey}

	verifier, err := New(Config{Issuer: testIssuer, Audience: testAudience, Now: func() time.Time { return now }}, keys)
	if err != nil {
		t.Fatal(err)
	}

	withClaims := func(edit func(*claims.AccessToken)) claims.AccessToken {
		c := validClaims(now)
		edit(&c)
		return c
	}
	valid := es.sign(t, validClaims(now), "at+jwt")
	parts := strings.Split(valid, ".")

	tests := []struct {
		name  string
		token string
		want  Reason
	}{
		{name: "ES256 valid", token: valid},
		{name: "RS256 valid", token: rs.sign(t, validClaims(now), "at+jwt")},
		{name: "EdDSA valid", token: ed.sign(t, validClaims(now), "at+jwt")},
		{name: "media type typ accepted", token: es.sign(t, validClaims(now), "application/at+jwt")},
		{name: "key without alg", token: signer{kid: "ec-na", method: jwt.SigningMethodES256, private: ecKey}.sign(t, validClaims(now), "at+jwt")},
		{name: "empty string", token: "", want: ReasonMalformed},
		{name: "two segments", token: parts[0] + "." + parts[1], want: ReasonMalformed},
		{name: "bad base64", token: parts[0] + ".!!!." + parts[2], want: ReasonMalformed},
		{name: "oversize", token: strings.Repeat("a", MaxTokenLength+1), want: ReasonMalformed},
		{name: "tampered payload", token: parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+testIssuer+`","sub":"admin","aud":"`+testAudience+`","exp":9999999999,"iat":1}`)) + "." + parts[2], want: ReasonSignature},
		{name: "wrong signing key", token: signer{kid: "ec", method: jwt.SigningMethodES256, private: otherEC}.sign(t, validClaims(now), "at+jwt"), want: ReasonSignature},
		{name: "alg none", token: noneToken(t, validClaims(now)), want: ReasonAlgorithm},
		{name: "HS256 with public key bytes", token: hmacToken(t, validClaims(now)), want: ReasonAlgorithm},
		{name: "alg differs from key alg", token: signer{kid: "ec", method: jwt.SigningMethodRS256, private: rsaKey}.sign(t, validClaims(now), "at+jwt"), want: ReasonAlgorithm},
		{name: "alg differs from key type", token: signer{kid: "ec-na", method: jwt.SigningMethodRS256, private: rsaKey}.sign(t, validClaims(now), "at+jwt"), want: ReasonAlgorithm},
		{name: "unknown kid", token: signer{kid: "nope", method: jwt.SigningMethodES256, private: ecKey}.sign(t, validClaims(now), "at+jwt"), want: ReasonUnknownKey},
		{name: "missing kid", token: signer{kid: "", method: jwt.SigningMethodES256, private: ecKey}.sign(t, validClaims(now), "at+jwt"), want: ReasonUnknownKey},
		{name: "wrong typ", token: es.sign(t, validClaims(now), "JWT"), want: ReasonType},
		{name: "typ in upper case", token: es.sign(t, validClaims(now), "AT+JWT")},
		{name: "crit header", token: withHeader(t, es, validClaims(now), "crit", []string{"exp"}), want: ReasonMalformed},
		{name: "lifetime over maximum", token: es.sign(t, withClaims(func(c *claims.AccessToken) { c.ExpiresAt = jwt.NewNumericDate(now.Add(25 * time.Hour)) }), "at+jwt"), want: ReasonClaims},
		{name: "upper-case scope claim", token: rawPayloadToken(t, es, `{"iss":"`+testIssuer+`","sub":"svc-a","aud":"`+testAudience+`","exp":`+strconv.FormatInt(now.Add(time.Minute).Unix(), 10)+`,"iat":`+strconv.FormatInt(now.Unix(), 10)+`,"SCOPE":"admin"}`), want: ReasonMalformed},
		{name: "expired", token: es.sign(t, withClaims(func(c *claims.AccessToken) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) }), "at+jwt"), want: ReasonExpired},
		{name: "expired within leeway", token: es.sign(t, withClaims(func(c *claims.AccessToken) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-10 * time.Second)) }), "at+jwt")},
		{name: "not yet valid", token: es.sign(t, withClaims(func(c *claims.AccessToken) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) }), "at+jwt"), want: ReasonNotYetValid},
		{name: "issued in the future", token: es.sign(t, withClaims(func(c *claims.AccessToken) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) }), "at+jwt"), want: ReasonNotYetValid},
		{name: "missing exp", token: es.sign(t, withClaims(func(c *claims.AccessToken) { c.ExpiresAt = nil }), "at+jwt"), want: ReasonClaims},
		{name: "missing iat", token: es.sign(t, withClaims(func(c *claims.AccessToken) { c.IssuedAt = nil }), "at+jwt"), want: ReasonClaims},
		{name: "missing sub", token: es.sign(t, withClaims(func(c *claims.AccessToken) { c.Subject = "" }), "at+jwt"), want: ReasonClaims},
		{name: "wrong issuer", token: es.sign(t, withClaims(func(c *claims.AccessToken) { c.Issuer = "https://evil.test" }), "at+jwt"), want: ReasonIssuer},
		{name: "wrong audience", token: es.sign(t, withClaims(func(c *claims.AccessToken) { c.Audience = jwt.ClaimStrings{"https://other.test"} }), "at+jwt"), want: ReasonAudience},
		{name: "invalid scope token", token: es.sign(t, withClaims(func(c *claims.AccessToken) { c.Scope = claims.ScopeClaim{`bad"scope`} }), "at+jwt"), want: ReasonClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := verifier.Verify(context.Background(), tt.token)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify failed: %v", err)
				}
				if got.Subject != "svc-a" || got.CredentialID != "cred-1" {
					t.Errorf("claims = %+v, want subject svc-a and credential cred-1", got)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted the token, want rejection for %s", tt.want)
			}
			var verr *Error
			if !errors.As(err, &verr) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if verr.Reason != tt.want {
				t.Errorf("reason = %s (%v), want %s", verr.Reason, err, tt.want)
			}
		})
	}
}

func TestVerifyKeysUnavailable(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	verifier, err := New(Config{Issuer: testIssuer, Audience: testAudience}, unavailableKeys{})
	if err != nil {
		t.Fatal(err)
	}
	token := signer{kid: "ec", method: jwt.SigningMethodES256, private: ecKey}.sign(t, validClaims(time.Now()), "at+jwt")

	_, err = verifier.Verify(context.Background(), token)
	if got := ReasonOf(err); got != ReasonKeysUnavailable {
		t.Errorf("reason = %s (%v), want %s", got, err, ReasonKeysUnavailable)
	}
}

func noneToken(t *testing.T, c claims.AccessToken) string {
	t.Helper()
	token := jwt.NewWithClaims(jwt.SigningMethodNone, c)
	token.Header["kid"] = "ec"
	token.Header["typ"] = "at+jwt"
	signed, err := token.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func hmacToken(t *testing.T, c claims.AccessToken) string {
	t.Helper()
	token := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	token.Header["kid"] = "ec"
	token.Header["typ"] = "at+jwt"
	signed, err := token.SignedString([]byte("public key bytes an attacker can read"))
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func BenchmarkVerify(b *testing.B) {
	now := time.Now()
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	keys := staticKeys{
		"ec": {ID: "ec", Algorithm: "ES256", Public: &ecKey.PublicKey},
		"ed": {ID: "ed", Algorithm: "EdDSA", Public: edKey.Public()},
	}
	verifier, err := New(Config{Issuer: testIssuer, Audience: testAudience}, keys)
	if err != nil {
		b.Fatal(err)
	}
	signers := []signer{
		{kid: "ec", method: jwt.SigningMethodES256, private: ecKey},
		{kid: "ed", method: jwt.SigningMethodEdDSA, private: edKey},
	}
	for _, s := range signers {
		b.Run(s.method.Alg(), func(b *testing.B) {
			token := jwt.NewWithClaims(s.method, validClaims(now))
			token.Header["kid"] = s.kid
			token.Header["typ"] = "at+jwt"
			signed, err := token.SignedString(s.private)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := verifier.Verify(context.Background(), signed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// withHeader signs c with an extra header member.
func withHeader(t *testing.T, s signer, c claims.AccessToken, name string, value any) string {
	t.Helper()
	token := jwt.NewWithClaims(s.method, c)
	token.Header["kid"] = s.kid
	token.Header["typ"] = "at+jwt"
	token.Header[name] = value
	signed, err := token.SignedString(s.private)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// rawPayloadToken signs payload exactly as given, bypassing claim encoding.
func rawPayloadToken(t *testing.T, s signer, payload string) string {
	t.Helper()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + s.method.Alg() + `","kid":"` + s.kid + `","typ":"at+jwt"}`))
	signingInput := header + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	signature, err := s.method.Sign(signingInput, s.private)
	if err != nil {
		t.Fatal(err)
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(signature)
}
