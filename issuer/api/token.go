package api

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/shared/claims"
	"github.com/gatepass/gatepass/shared/scope"
)

// OfflineAccessScope is the scope that makes /token issue a refresh token.
const OfflineAccessScope = "offline_access"

const (
	grantClientCredentials = "client_credentials"
	grantRefreshToken      = "refresh_token"
)

// tokenResponse is the successful /token body (RFC 6749, section 5.1).
type tokenResponse struct {
	AccessToken  string  `json:"access_token"`
	TokenType    string  `json:"token_type"`
	ExpiresIn    int64   `json:"expires_in"`
	RefreshToken *string `json:"refresh_token"`
	Scope        string  `json:"scope"`
}

// handleToken serves POST /token.
func (s *Server) handleToken(c *gin.Context) {
	setCookie, ok := parseBoolQuery(c, "set_cookie")
	if !ok {
		return
	}
	form, ok := readTokenForm(c)
	if !ok {
		return
	}

	grantType := form.get("grant_type")
	if grantType == "" {
		grantType = grantClientCredentials
	}

	var response tokenResponse
	var err *tokenError
	switch grantType {
	case grantClientCredentials:
		response, err = s.clientCredentialsGrant(c, form)
	case grantRefreshToken:
		response, err = s.refreshTokenGrant(c, form)
	default:
		err = &tokenError{status: http.StatusBadRequest, code: errUnsupportedGrantType,
			description: "grant_type " + quoteName(grantType) + " is not supported; use client_credentials or refresh_token"}
	}
	if err != nil {
		s.deps.Metrics.tokenErrors.WithLabelValues(grantLabel(grantType), err.code).Inc()
		writeTokenError(c, err)
		return
	}

	s.deps.Metrics.tokensIssued.WithLabelValues(grantLabel(grantType)).Inc()
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	if setCookie && response.ExpiresIn > 0 {
		s.setTokenCookie(c, response)
	}
	c.JSON(http.StatusOK, response)
}

// grantLabel bounds the grant_type metric label to the supported grants,
// because the raw value is client input of any content.
func grantLabel(grantType string) string {
	switch grantType {
	case grantClientCredentials, grantRefreshToken:
		return grantType
	}
	return "unsupported"
}

// clientCredentialsGrant issues a token for an authenticated client
// (RFC 6749, section 4.4).
func (s *Server) clientCredentialsGrant(c *gin.Context, form tokenForm) (tokenResponse, *tokenError) {
	credential, err := s.authenticateClient(c, form)
	if err != nil {
		return tokenResponse{}, err
	}

	scopes, err := narrowScopes(form, credential.Scopes, "the credential")
	if err != nil {
		return tokenResponse{}, err
	}

	now := s.now()
	response, err := s.issueAccessToken(c, credential, scopes, now)
	if err != nil {
		return tokenResponse{}, err
	}
	if scopes.Has(OfflineAccessScope) {
		refresh, err := s.startRefreshFamily(c, credential, scopes, now)
		if err != nil {
			return tokenResponse{}, err
		}
		response.RefreshToken = &refresh
	}

	s.deps.Usage.Record(credential.ID, now)
	return response, nil
}

// narrowScopes applies the optional scope parameter (RFC 6749, section 3.3)
// to the scopes granted to holder. Absent, it means every granted scope.
// Present, it must name a subset of them.
func narrowScopes(form tokenForm, granted []string, holder string) (scope.Set, *tokenError) {
	grantedSet, err := scope.FromList(granted)
	if err != nil {
		return nil, &tokenError{status: http.StatusInternalServerError, code: errServerError, description: "stored scopes are invalid"}
	}
	if !form.has("scope") {
		return grantedSet, nil
	}

	requested, err := scope.Parse(form.get("scope"))
	if err != nil {
		return nil, invalidScope(err.Error())
	}
	if missing := grantedSet.Missing(requested); len(missing) > 0 {
		return nil, invalidScope(holder + " does not hold the scopes: " + missing.String())
	}
	return requested, nil
}

// issueAccessToken signs an RFC 9068 access token for credential and
// returns the token response without a refresh token. Both grants issue
// through it.
func (s *Server) issueAccessToken(c *gin.Context, credential store.Credential, scopes scope.Set, now time.Time) (tokenResponse, *tokenError) {
	expiresAt := now.Add(s.config.TokenTTL)
	if credential.ExpiresAt != nil && credential.ExpiresAt.Before(expiresAt) {
		// A token never outlives its credential, also where it is verified
		// offline.
		expiresAt = credential.ExpiresAt.Truncate(time.Second)
	}
	accessClaims := claims.AccessToken{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.config.IssuerURL,
			Subject:   credential.ClientID,
			Audience:  jwt.ClaimStrings{s.config.Audience},
			ExpiresAt: jwt.NewNumericDate(expiresAt),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        newTokenID(),
		},
		ClientID:       credential.ClientID,
		Scope:          claims.ScopeClaim(scopes),
		CredentialID:   credential.ID,
		CredentialType: credential.Type,
		Permissions:    credential.Permissions,
	}

	token, _, err := s.deps.Signer.Sign(accessClaims)
	if err != nil {
		s.deps.Logger.ErrorContext(c, "signing access token failed", "client_id", credential.ClientID, "credential_id", credential.ID, "error", err)
		return tokenResponse{}, &tokenError{status: http.StatusInternalServerError, code: errServerError, description: "could not sign the access token"}
	}
	return tokenResponse{
		AccessToken: token,
		TokenType:   "bearer",
		ExpiresIn:   int64(expiresAt.Sub(now) / time.Second),
		Scope:       scopes.String(),
	}, nil
}

// newTokenID returns a random jti of 128 bits.
func newTokenID() string {
	var raw [16]byte
	rand.Read(raw[:])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

// setTokenCookie sets the access token as a cookie for browser callers.
func (s *Server) setTokenCookie(c *gin.Context, response tokenResponse) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     s.config.CookieName,
		Value:    response.AccessToken,
		Path:     "/",
		MaxAge:   int(response.ExpiresIn),
		HttpOnly: true,
		Secure:   s.secureCookie,
		SameSite: http.SameSiteLaxMode,
	})
}

// parseBoolQuery reads an optional boolean query parameter the way the
// existing API did: true/false, 1/0, yes/no, on/off, case-insensitive.
func parseBoolQuery(c *gin.Context, name string) (value, ok bool) {
	values, present := c.Request.URL.Query()[name]
	if !present {
		return false, true
	}
	if len(values) == 1 {
		switch lower(values[0]) {
		case "true", "1", "yes", "on":
			return true, true
		case "false", "0", "no", "off":
			return false, true
		}
	}
	writeTokenValidationError(c, "value could not be parsed to a boolean", "type_error.bool", "query", name)
	return false, false
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// retryAfterSeconds formats d for a Retry-After header, rounding up.
func retryAfterSeconds(d time.Duration) string {
	seconds := int64((d + time.Second - 1) / time.Second)
	if seconds < 1 {
		seconds = 1
	}
	return strconv.FormatInt(seconds, 10)
}

// isNotFound reports whether err is store.ErrNotFound.
func isNotFound(err error) bool {
	return errors.Is(err, store.ErrNotFound)
}
