// Package api serves the issuer's HTTP API: the token endpoint, key and
// metadata discovery, /me, credential management and health.
package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/issuer/secret"
	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/shared/verify"
)

// Signer signs access tokens and publishes their verification keys.
type Signer interface {
	// Sign signs claims with the active key.
	Sign(claims jwt.Claims) (token, kid string, err error)

	// JWKS returns the rendered JSON Web Key Set and its ETag.
	JWKS() (body []byte, etag string)
}

// Sealer encrypts values stored at rest.
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// AuthLimiter slows down and then blocks repeated failed client
// authentication per key (a client id or a remote address).
type AuthLimiter interface {
	// RetryAfter returns how long key must wait before it may try again;
	// zero means it may try now.
	RetryAfter(key string) time.Duration

	// Fail records a failed attempt by key and returns how long to delay
	// the failure response.
	Fail(key string) time.Duration
}

// UsageRecorder records successful credential use off the request path.
type UsageRecorder interface {
	Record(credentialID string, at time.Time)
}

// Config holds the issuer's API settings.
type Config struct {
	// IssuerURL is the iss of every token and the base of endpoint URLs.
	IssuerURL string

	// Audience is the aud of every access token.
	Audience string

	// TokenTTL is the lifetime of access tokens.
	TokenTTL time.Duration

	// RefreshTTL is the lifetime of refresh tokens.
	RefreshTTL time.Duration

	// RefreshGrace is how long after a refresh token is spent it may be
	// presented again and receive the same replacement.
	RefreshGrace time.Duration

	// CookieName names the cookie that set_cookie=true sets.
	CookieName string

	// AdminToken enables the X-Admin-Token header when not empty.
	AdminToken string

	// MaxCredentialDays caps credential lifetimes; zero means no cap.
	MaxCredentialDays int

	// MaxActiveCredentials caps the active credentials of one client, so a
	// client with credentials:write cannot fill storage; zero means no cap.
	MaxActiveCredentials int

	// SigningAlgorithm is the JWS algorithm announced in metadata.
	SigningAlgorithm string

	// JWKSMaxAge is the max-age the JWKS response allows caches.
	JWKSMaxAge time.Duration

	// TrustedProxies lists the proxy addresses or CIDRs whose
	// X-Forwarded-For header names the client address. Empty means the
	// connection's address is the client address.
	TrustedProxies []string
}

// Deps are the collaborators of the API.
type Deps struct {
	Store   store.Store
	Signer  Signer
	Keys    verify.KeySource
	Sealer  Sealer
	Secrets *secret.Codec
	Limiter AuthLimiter
	Usage   UsageRecorder
	Metrics *Metrics
	Logger  *slog.Logger
	Now     func() time.Time
}

// Server is the issuer's HTTP API.
type Server struct {
	config       Config
	deps         Deps
	verifier     *verify.Verifier
	adminHash    [32]byte
	secureCookie bool
}

// New checks config and returns a Server.
func New(config Config, deps Deps) (*Server, error) {
	if config.IssuerURL == "" || config.Audience == "" {
		return nil, errors.New("issuer URL and audience must be set")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}

	verifier, err := verify.New(verify.Config{Issuer: config.IssuerURL, Audience: config.Audience, Now: deps.Now}, deps.Keys)
	if err != nil {
		return nil, err
	}

	server := &Server{
		config:       config,
		deps:         deps,
		verifier:     verifier,
		secureCookie: !isLocalHTTP(config.IssuerURL),
	}
	if config.AdminToken != "" {
		server.adminHash = sha256.Sum256([]byte(config.AdminToken))
	}
	return server, nil
}

// isLocalHTTP reports whether url is plain HTTP on localhost, where a
// Secure cookie would never be sent back.
func isLocalHTTP(url string) bool {
	for _, host := range []string{"http://localhost", "http://127.0.0.1", "http://[::1]"} {
		if url == host || strings.HasPrefix(url, host+":") || strings.HasPrefix(url, host+"/") {
			return true
		}
	}
	return false
}

// Handler returns the HTTP handler with every route.
func (s *Server) Handler() (http.Handler, error) {
	gin.SetMode(gin.ReleaseMode)
	router := gin.New()
	if err := router.SetTrustedProxies(s.config.TrustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies %v: %w", s.config.TrustedProxies, err)
	}
	router.HandleMethodNotAllowed = true
	router.Use(s.recoverPanics, s.deps.Metrics.middleware, limitRequestTime)

	router.POST("/token", s.handleToken)
	getAndHead(router, "/jwks", s.handleJWKS)
	getAndHead(router, "/.well-known/openid-configuration", s.handleMetadata)
	getAndHead(router, "/.well-known/oauth-authorization-server", s.handleMetadata)
	getAndHead(router, "/health", s.handleHealth)
	getAndHead(router, "/health/ready", s.handleReady)
	getAndHead(router, "/me", s.handleMe)

	credentials := router.Group("/clients/:client_id/credentials")
	getAndHead(credentials, "", s.handleListCredentials)
	credentials.POST("", s.handleCreateCredential)
	credentials.DELETE("/:credential_id", s.handleRevokeCredential)

	router.NoRoute(func(c *gin.Context) { writeDetail(c, http.StatusNotFound, "not found") })
	router.NoMethod(func(c *gin.Context) { writeDetail(c, http.StatusMethodNotAllowed, "method not allowed") })
	return router, nil
}

// getAndHead routes GET and HEAD of path to handler, because HEAD must
// respond like GET without a body (RFC 9110, section 9.3.2) and gin does not
// derive it. net/http drops the body of a HEAD response.
func getAndHead(routes gin.IRoutes, path string, handler gin.HandlerFunc) {
	routes.GET(path, handler)
	routes.HEAD(path, handler)
}

// recoverPanics turns a panic into a logged 500, so one bad request never
// takes the process down.
func (s *Server) recoverPanics(c *gin.Context) {
	defer func() {
		if recovered := recover(); recovered != nil {
			if recovered == http.ErrAbortHandler {
				panic(recovered)
			}
			s.deps.Logger.Error("panic while handling request", "method", c.Request.Method, "path", c.FullPath(), "panic", recovered)
			writeDetail(c, http.StatusInternalServerError, "internal error")
		}
	}()
	c.Next()
}

// internalError logs err and responds with 500.
func (s *Server) internalError(c *gin.Context, message string, err error, attrs ...any) {
	s.deps.Logger.ErrorContext(c, message, append(attrs, "error", err)...)
	writeDetail(c, http.StatusInternalServerError, "internal error")
}

// now returns the current time in UTC at microsecond precision, the
// precision storage keeps.
func (s *Server) now() time.Time {
	return s.deps.Now().UTC().Truncate(time.Microsecond)
}

// requestTimeout bounds the storage work of one request, so a stalled
// database cannot pile up handler goroutines without end.
const requestTimeout = 10 * time.Second

// background returns a context for a write that must finish even if the
// client goes away, bounded by requestTimeout.
func background(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
}

// limitRequestTime gives every request's context a deadline.
func limitRequestTime(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), requestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}
