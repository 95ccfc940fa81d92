// Package testissuer is a stand-in for the gatepass issuer in the sidecar's
// tests and benchmarks. It signs access tokens with golang-jwt and serves
// their keys as a JWK Set (built with go-jose) and a discovery document on a
// loopback HTTP server whose responses the test controls.
package testissuer

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/shared/claims"
)

// Audience is the aud claim of the tokens Claims builds.
const Audience = "https://api.gatepass.test"

// Key is a signing key with its kid.
type Key struct {
	ID      string
	method  jwt.SigningMethod
	private crypto.Signer
}

// NewKey generates a key for alg, one of ES256, RS256 and EdDSA.
func NewKey(id, alg string) (*Key, error) {
	var (
		private crypto.Signer
		err     error
	)
	switch alg {
	case "ES256":
		private, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RS256":
		private, err = rsa.GenerateKey(rand.Reader, 2048)
	case "EdDSA":
		_, private, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("testissuer: unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("testissuer: generating %s key: %w", alg, err)
	}
	return &Key{ID: id, method: jwt.GetSigningMethod(alg), private: private}, nil
}

// JWK returns the public half of the key as a JWK with use "sig" and alg.
func (k *Key) JWK() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.private.Public(), KeyID: k.ID, Algorithm: k.method.Alg(), Use: "sig"}
}

// Sign returns a compact JWS of c with typ at+jwt and this key's kid.
func (k *Key) Sign(c jwt.Claims) (string, error) {
	token := jwt.NewWithClaims(k.method, c)
	token.Header["typ"] = claims.TokenType
	token.Header["kid"] = k.ID
	signed, err := token.SignedString(k.private)
	if err != nil {
		return "", fmt.Errorf("testissuer: signing with key %q: %w", k.ID, err)
	}
	return signed, nil
}

// Server serves a discovery document and a JWK Set on loopback.
type Server struct {
	server *httptest.Server

	mu           sync.Mutex
	keys         []jose.JSONWebKey
	cacheControl string
	down         bool
	jwksRequests int
	changed      chan struct{}
}

// NewServer starts a Server that publishes keys with Cache-Control
// "public, max-age=300".
func NewServer(keys ...*Key) *Server {
	s := &Server{cacheControl: "public, max-age=300", changed: make(chan struct{})}
	s.Publish(keys...)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.serveDiscovery)
	mux.HandleFunc("GET /jwks", s.serveJWKS)
	s.server = httptest.NewServer(mux)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.server.Close() }

// URL returns the issuer URL, the iss of its tokens.
func (s *Server) URL() string { return s.server.URL }

// JWKSURL returns the URL of the JWK Set.
func (s *Server) JWKSURL() string { return s.server.URL + "/jwks" }

// Publish replaces the published keys.
func (s *Server) Publish(keys ...*Key) {
	jwks := make([]jose.JSONWebKey, len(keys))
	for i, key := range keys {
		jwks[i] = key.JWK()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = jwks
}

// PublishJWKs replaces the published keys with jwks as given, so a test can
// publish keys that Publish would not build, such as private ones.
func (s *Server) PublishJWKs(jwks ...jose.JSONWebKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = jwks
}

// SetCacheControl sets the Cache-Control header of JWK Set responses; an
// empty value sends none.
func (s *Server) SetCacheControl(value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cacheControl = value
}

// SetDown makes every response a 503 while down is true.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// JWKSRequests returns how many JWK Set requests arrived so far.
func (s *Server) JWKSRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwksRequests
}

// WaitJWKSRequests blocks until at least n JWK Set requests arrived or ctx
// ends.
func (s *Server) WaitJWKSRequests(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		count, changed := s.jwksRequests, s.changed
		s.mu.Unlock()
		if count >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testissuer: %d JWK Set requests arrived, waiting for %d: %w", count, n, ctx.Err())
		case <-changed:
		}
	}
}

// Claims returns valid claims of this issuer for subject, issued now and
// expiring in five minutes.
func (s *Server) Claims(subject string, scopes ...string) claims.AccessToken {
	now := time.Now()
	return claims.AccessToken{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.URL(),
			Subject:   subject,
			Audience:  jwt.ClaimStrings{Audience},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)),
			ID:        rand.Text(),
		},
		ClientID:     subject,
		Scope:        scopes,
		CredentialID: "cred-" + subject,
	}
}

func (s *Server) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	if s.isDown() {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":   s.URL(),
		"jwks_uri": s.JWKSURL(),
	})
}

func (s *Server) serveJWKS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.jwksRequests++
	close(s.changed)
	s.changed = make(chan struct{})
	down, keys, cacheControl := s.down, s.keys, s.cacheControl
	s.mu.Unlock()

	if down {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	body, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	digest := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(digest[:8]) + `"`

	if cacheControl != "" {
		w.Header().Set("Cache-Control", cacheControl)
	}
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (s *Server) isDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}
