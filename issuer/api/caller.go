package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/shared/claims"
	"github.com/gatepass/gatepass/shared/scope"
	"github.com/gatepass/gatepass/shared/verify"
)

// Scopes that govern the issuer's own API.
const (
	// ScopeCredentialsRead lets a client list its own credentials.
	ScopeCredentialsRead = "credentials:read"

	// ScopeCredentialsWrite lets a client list, create and revoke its own
	// credentials.
	ScopeCredentialsWrite = "credentials:write"

	// ScopeAdmin lets a client manage the credentials of every client.
	ScopeAdmin = "gatepass:admin"
)

// adminTokenHeader carries the configured administrator secret.
const adminTokenHeader = "X-Admin-Token"

// caller is the authenticated party of a management or /me request.
type caller struct {
	// viaAdminToken is set when the caller presented X-Admin-Token; the
	// other fields are then empty.
	viaAdminToken bool

	token      *claims.AccessToken
	scopes     scope.Set
	credential store.Credential
}

// isAdmin reports whether the caller may act on every client.
func (c caller) isAdmin() bool {
	return c.viaAdminToken || c.scopes.Has(ScopeAdmin)
}

// actor names the caller in audit events and logs.
func (c caller) actor() string {
	if c.viaAdminToken {
		return "admin-token"
	}
	return "client:" + c.token.Subject + "/credential:" + c.token.CredentialID
}

// tokenSource selects where a bearer token may come from.
type tokenSource int

const (
	headerOnly tokenSource = iota
	headerOrCookie
)

// authenticateCaller identifies the caller by X-Admin-Token or by a bearer
// access token whose credential is still active in storage. On failure it
// writes the response and returns ok=false.
func (s *Server) authenticateCaller(c *gin.Context, source tokenSource, allowAdminToken bool) (caller, bool) {
	if presented, sent := c.Request.Header[adminTokenHeader]; sent && allowAdminToken {
		return s.checkAdminToken(c, presented)
	}

	raw, problem := bearerToken(c, source, s.config.CookieName)
	if problem != "" {
		if problem == "missing" {
			problem = "authentication required: send Authorization: Bearer <access token>"
		}
		writeBearerError(c, http.StatusUnauthorized, errInvalidToken, problem)
		return caller{}, false
	}

	token, err := s.verifier.Verify(c.Request.Context(), raw)
	if err != nil {
		description := "the access token is invalid: " + string(verify.ReasonOf(err))
		writeBearerError(c, http.StatusUnauthorized, errInvalidToken, description)
		return caller{}, false
	}
	return s.checkTokenCredential(c, token)
}

// checkAdminToken compares the X-Admin-Token header in constant time.
func (s *Server) checkAdminToken(c *gin.Context, presented []string) (caller, bool) {
	if s.config.AdminToken == "" {
		writeDetail(c, http.StatusUnauthorized, "the X-Admin-Token header is disabled on this server (GATEPASS_ADMIN_TOKEN is not set)")
		return caller{}, false
	}

	limitKey := "admin:" + c.ClientIP()
	if wait := s.deps.Limiter.RetryAfter(limitKey); wait > 0 {
		c.Header("Retry-After", retryAfterSeconds(wait))
		writeDetail(c, http.StatusTooManyRequests, "too many invalid X-Admin-Token attempts; retry after "+retryAfterSeconds(wait)+" seconds")
		return caller{}, false
	}

	presentedHash := sha256.Sum256([]byte(strings.Join(presented, ",")))
	if subtle.ConstantTimeCompare(presentedHash[:], s.adminHash[:]) != 1 {
		s.deps.Logger.WarnContext(c, "invalid admin token presented", "remote_addr", c.ClientIP(), "path", c.FullPath())
		s.deps.Metrics.authFailures.Inc()
		delayResponse(c, s.deps.Limiter.Fail(limitKey))
		writeDetail(c, http.StatusUnauthorized, "invalid X-Admin-Token")
		return caller{}, false
	}
	return caller{viaAdminToken: true}, true
}

// checkTokenCredential makes sure the credential a verified token was
// obtained with is still active, so revocation takes effect at once.
func (s *Server) checkTokenCredential(c *gin.Context, token *claims.AccessToken) (caller, bool) {
	if token.CredentialID == "" {
		writeBearerError(c, http.StatusUnauthorized, errInvalidToken, "the access token names no credential")
		return caller{}, false
	}

	credential, err := s.deps.Store.GetCredential(c.Request.Context(), token.CredentialID)
	if err != nil && !isNotFound(err) {
		s.internalError(c, "reading credential failed", err, "credential_id", token.CredentialID)
		return caller{}, false
	}
	if err != nil || credential.ClientID != token.Subject || !credential.Active(s.now()) {
		writeBearerError(c, http.StatusUnauthorized, errInvalidToken, "the credential of this access token is revoked, expired or disabled")
		return caller{}, false
	}

	scopes, _ := token.Scopes()
	return caller{token: token, scopes: scopes, credential: credential}, true
}

// bearerToken extracts the access token from the Authorization header
// (RFC 6750, section 2.1) or, when source allows, from the cookie that
// /token?set_cookie=true sets. problem is "missing" when neither is present.
func bearerToken(c *gin.Context, source tokenSource, cookieName string) (token, problem string) {
	headers := c.Request.Header.Values("Authorization")
	switch {
	case len(headers) > 1:
		return "", "send one Authorization header"
	case len(headers) == 1:
		scheme, value, found := strings.Cut(headers[0], " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return "", "the Authorization header must have the form: Bearer <access token>"
		}
		if value == "" || strings.ContainsAny(value, " \t") {
			return "", "the Authorization header must carry exactly one token"
		}
		return value, ""
	}

	if source == headerOrCookie {
		if cookie, err := c.Request.Cookie(cookieName); err == nil && cookie.Value != "" {
			return cookie.Value, ""
		}
	}
	return "", "missing"
}

// requireClientAccess lets the caller act on clientID's credentials if it
// is an administrator, or if it is that client and holds one of scopes. It
// writes 403 and returns false otherwise.
func requireClientAccess(c *gin.Context, requester caller, clientID string, scopes ...string) bool {
	if requester.isAdmin() {
		return true
	}
	if requester.token.Subject != clientID {
		writeDetail(c, http.StatusForbidden, "a client may only manage its own credentials")
		return false
	}
	if !requester.scopes.HasAny(scope.Set(scopes)) {
		writeBearerScopeError(c, scopes)
		return false
	}
	return true
}

// writeBearerScopeError rejects with 403 insufficient_scope (RFC 6750, section
// 3.1), naming the scope that would have been enough.
func writeBearerScopeError(c *gin.Context, scopes []string) {
	needed := strings.Join(scopes, " or ")
	c.Header("WWW-Authenticate", `Bearer realm="gatepass", error="`+errInsufficientScope+`", scope="`+scopes[len(scopes)-1]+`"`)
	c.AbortWithStatusJSON(http.StatusForbidden, detailBody{Detail: "the access token needs the scope " + needed})
}
