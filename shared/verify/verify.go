// Package verify checks gatepass access tokens: the signature against a key
// from a KeySource under an algorithm allow-list matched to the key type, the
// issuer, the audience and the validity window.
//
// The issuer's /me endpoint and the ext_authz sidecar both use it, so a token
// that one accepts the other accepts too.
package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/shared/claims"
)

// MaxTokenLength is the longest compact JWT accepted, in bytes. Longer input
// is rejected before any decoding.
const MaxTokenLength = 8 << 10

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat.
const DefaultLeeway = 30 * time.Second

// DefaultMaxLifetime is the longest token lifetime (exp minus iat) accepted
// by default. The issuer's longest allowed token lifetime is 24 hours.
const DefaultMaxLifetime = 24 * time.Hour

// Algorithms lists the JWS algorithms a Verifier accepts. The algorithm of a
// token must also match the type of its key: ES256 needs a P-256 ECDSA key,
// RS256 an RSA key of at least 2048 bits, EdDSA an Ed25519 key. "none" and
// every HMAC algorithm are never accepted.
var Algorithms = []string{"ES256", "RS256", "EdDSA"}

// minRSABits is the smallest RSA modulus accepted.
const minRSABits = 2048

// Key is a public verification key.
type Key struct {
	// ID is the key id, matched against the "kid" header.
	ID string

	// Algorithm is the "alg" the key is published for, or empty when the
	// publisher named none.
	Algorithm string

	// Public is an *ecdsa.PublicKey, *rsa.PublicKey or ed25519.PublicKey.
	Public crypto.PublicKey
}

// ErrKeyNotFound is returned by a KeySource that has no key with the id.
var ErrKeyNotFound = errors.New("no key with this id")

// ErrKeysUnavailable is returned by a KeySource that cannot provide keys at
// all, for example because the issuer has been unreachable for too long.
var ErrKeysUnavailable = errors.New("verification keys unavailable")

// KeySource looks up verification keys by key id.
type KeySource interface {
	// Key returns the key with the given id, ErrKeyNotFound, or an error
	// wrapping ErrKeysUnavailable.
	Key(ctx context.Context, kid string) (Key, error)
}

// Reason classifies why a token was rejected.
type Reason string

// Reasons a token is rejected.
const (
	ReasonMalformed       Reason = "malformed"
	ReasonAlgorithm       Reason = "algorithm_not_allowed"
	ReasonType            Reason = "wrong_type"
	ReasonUnknownKey      Reason = "unknown_key"
	ReasonSignature       Reason = "bad_signature"
	ReasonExpired         Reason = "expired"
	ReasonNotYetValid     Reason = "not_yet_valid"
	ReasonIssuer          Reason = "wrong_issuer"
	ReasonAudience        Reason = "wrong_audience"
	ReasonClaims          Reason = "invalid_claims"
	ReasonKeysUnavailable Reason = "keys_unavailable"
)

// Error is the error a Verifier returns for every rejected token.
type Error struct {
	Reason Reason
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("token rejected (%s): %v", e.Reason, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the Reason of err, or ReasonMalformed when err is not an
// *Error.
func ReasonOf(err error) Reason {
	var verr *Error
	if errors.As(err, &verr) {
		return verr.Reason
	}
	return ReasonMalformed
}

// Config sets what a Verifier checks.
type Config struct {
	// Issuer must equal the "iss" claim.
	Issuer string

	// Audience must be one of the "aud" values.
	Audience string

	// Leeway is the clock skew tolerated on exp, nbf and iat; zero means
	// DefaultLeeway.
	Leeway time.Duration

	// MaxLifetime bounds exp minus iat; zero means DefaultMaxLifetime.
	// Longer-lived tokens are rejected, whatever their signature.
	MaxLifetime time.Duration

	// AnyType accepts tokens whose "typ" header is not "at+jwt". Only set it
	// for tokens from issuers that do not follow RFC 9068.
	AnyType bool

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	config Config
	keys   KeySource
	parser *jwt.Parser
}

// New returns a Verifier that takes keys from keys.
func New(config Config, keys KeySource) (*Verifier, error) {
	if config.Issuer == "" {
		return nil, errors.New("verifier needs an issuer to match the iss claim against")
	}
	if config.Audience == "" {
		return nil, errors.New("verifier needs an audience to match the aud claim against")
	}
	if config.Leeway == 0 {
		config.Leeway = DefaultLeeway
	}
	if config.MaxLifetime == 0 {
		config.MaxLifetime = DefaultMaxLifetime
	}

	options := []jwt.ParserOption{
		jwt.WithIssuer(config.Issuer),
		jwt.WithAudience(config.Audience),
		jwt.WithLeeway(config.Leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	}
	if config.Now != nil {
		options = append(options, jwt.WithTimeFunc(config.Now))
	}
	return &Verifier{config: config, keys: keys, parser: jwt.NewParser(options...)}, nil
}

// Verify checks token and returns its claims. Every failure is an *Error.
func (v *Verifier) Verify(ctx context.Context, token string) (*claims.AccessToken, error) {
	if len(token) > MaxTokenLength {
		return nil, &Error{Reason: ReasonMalformed, Err: fmt.Errorf("token is %d bytes long, the maximum is %d", len(token), MaxTokenLength)}
	}

	var keyErr *Error
	keyfunc := func(parsed *jwt.Token) (any, error) {
		key, err := v.keyFor(ctx, parsed)
		if err != nil {
			keyErr = err
			return nil, err
		}
		return key, nil
	}

	var result claims.AccessToken
	_, err := v.parser.ParseWithClaims(token, &result, keyfunc)
	if keyErr != nil {
		return nil, keyErr
	}
	if err != nil {
		return nil, classify(err)
	}

	if err := validateClaims(&result, v.config.MaxLifetime); err != nil {
		return nil, err
	}
	return &result, nil
}

// keyFor checks the header of parsed and returns the key to verify it with.
func (v *Verifier) keyFor(ctx context.Context, parsed *jwt.Token) (crypto.PublicKey, *Error) {
	if !v.config.AnyType {
		// Media type names compare without case (RFC 7515, section 4.1.9).
		typ, _ := parsed.Header["typ"].(string)
		if !strings.EqualFold(typ, claims.TokenType) && !strings.EqualFold(typ, "application/"+claims.TokenType) {
			return nil, &Error{Reason: ReasonType, Err: fmt.Errorf("typ header is %q, want %q", typ, claims.TokenType)}
		}
	}
	if _, present := parsed.Header["crit"]; present {
		// No JWS extension is understood here, so a token that marks one as
		// critical must be rejected (RFC 7515, section 4.1.11).
		return nil, &Error{Reason: ReasonMalformed, Err: errors.New("token has a crit header, and no extension is supported")}
	}

	alg := parsed.Method.Alg()
	if !slices.Contains(Algorithms, alg) {
		return nil, &Error{Reason: ReasonAlgorithm, Err: fmt.Errorf("algorithm %q is not allowed, only %v", alg, Algorithms)}
	}

	kid, _ := parsed.Header["kid"].(string)
	if kid == "" {
		return nil, &Error{Reason: ReasonUnknownKey, Err: errors.New("token has no kid header")}
	}

	key, err := v.keys.Key(ctx, kid)
	switch {
	case errors.Is(err, ErrKeyNotFound):
		return nil, &Error{Reason: ReasonUnknownKey, Err: fmt.Errorf("no published key has kid %q", kid)}
	case err != nil:
		return nil, &Error{Reason: ReasonKeysUnavailable, Err: fmt.Errorf("looking up key %q: %w", kid, err)}
	}

	if key.Algorithm != "" && key.Algorithm != alg {
		return nil, &Error{Reason: ReasonAlgorithm, Err: fmt.Errorf("token uses %s but key %q is published for %s", alg, kid, key.Algorithm)}
	}
	if err := checkKeyType(alg, key.Public); err != nil {
		return nil, &Error{Reason: ReasonAlgorithm, Err: fmt.Errorf("key %q: %w", kid, err)}
	}
	return key.Public, nil
}

// checkKeyType enforces that alg is used only with its own key type.
func checkKeyType(alg string, public crypto.PublicKey) error {
	switch alg {
	case "ES256":
		if key, ok := public.(*ecdsa.PublicKey); ok && key.Curve == elliptic.P256() {
			return nil
		}
	case "RS256":
		if key, ok := public.(*rsa.PublicKey); ok {
			if key.N.BitLen() < minRSABits {
				return fmt.Errorf("RSA key has %d bits, the minimum is %d", key.N.BitLen(), minRSABits)
			}
			return nil
		}
	case "EdDSA":
		if _, ok := public.(ed25519.PublicKey); ok {
			return nil
		}
	}
	return fmt.Errorf("algorithm %s does not match key type %T", alg, public)
}

// classify maps a golang-jwt error to an *Error.
func classify(err error) *Error {
	reason := ReasonMalformed
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason = ReasonSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		reason = ReasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		reason = ReasonNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		reason = ReasonIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		reason = ReasonAudience
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		reason = ReasonAlgorithm
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing), errors.Is(err, jwt.ErrTokenInvalidClaims):
		reason = ReasonClaims
	}
	return &Error{Reason: reason, Err: err}
}

// validateClaims checks the claims RFC 9068 requires beyond those the parser
// checks.
func validateClaims(token *claims.AccessToken, maxLifetime time.Duration) error {
	if token.Subject == "" {
		return &Error{Reason: ReasonClaims, Err: errors.New("token has no sub claim")}
	}
	if token.IssuedAt == nil {
		return &Error{Reason: ReasonClaims, Err: errors.New("token has no iat claim")}
	}
	if lifetime := token.ExpiresAt.Sub(token.IssuedAt.Time); lifetime > maxLifetime {
		return &Error{Reason: ReasonClaims, Err: fmt.Errorf("token lifetime %v exceeds the maximum %v", lifetime, maxLifetime)}
	}
	if _, err := token.Scopes(); err != nil {
		return &Error{Reason: ReasonClaims, Err: fmt.Errorf("scope claim: %w", err)}
	}
	return nil
}
