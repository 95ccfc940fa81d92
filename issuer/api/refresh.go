package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/issuer/secret"
	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/shared/claims"
	"github.com/gatepass/gatepass/shared/scope"
)

// startRefreshFamily issues the first refresh token of a new family.
func (s *Server) startRefreshFamily(c *gin.Context, credential store.Credential, scopes scope.Set, now time.Time) (string, *tokenError) {
	token := s.deps.Secrets.NewRefreshToken()
	row := store.RefreshToken{
		Hash:         s.deps.Secrets.HashRefreshToken(token),
		FamilyID:     newTokenID(),
		CredentialID: credential.ID,
		ClientID:     credential.ClientID,
		Scopes:       scopes,
		CreatedAt:    now,
		ExpiresAt:    now.Add(s.config.RefreshTTL),
	}
	writeCtx, cancel := background(c.Request.Context())
	defer cancel()
	err := s.deps.Store.CreateRefreshToken(writeCtx, row)
	if isNotFound(err) {
		return "", invalidClient("the credential was revoked while the token was issued")
	}
	if err != nil {
		return "", s.storageUnavailable(c, "storing refresh token failed", err, "client_id", credential.ClientID, "credential_id", credential.ID)
	}
	return token, nil
}

// refreshTokenGrant exchanges a refresh token for a new access token and a
// new refresh token (RFC 6749, section 6). The client authenticates as for
// the client credentials grant, with any of its active credentials.
//
// The spent token's replacement is derived from it, so concurrent requests
// inside the grace period all receive the same pair. A later reuse revokes
// the whole family (RFC 9700, section 4.14.2).
func (s *Server) refreshTokenGrant(c *gin.Context, form tokenForm) (tokenResponse, *tokenError) {
	presented := form.get("refresh_token")
	if presented == "" {
		return tokenResponse{}, invalidRequest("refresh_token is required with grant_type=refresh_token")
	}
	client, tokenErr := s.authenticateClient(c, form)
	if tokenErr != nil {
		return tokenResponse{}, tokenErr
	}
	if err := s.deps.Secrets.CheckRefreshToken(presented); err != nil {
		return tokenResponse{}, invalidGrant("the refresh token is malformed or truncated")
	}

	parentHash := s.deps.Secrets.HashRefreshToken(presented)
	parent, err := s.deps.Store.GetRefreshToken(c.Request.Context(), parentHash)
	if isNotFound(err) {
		return tokenResponse{}, invalidGrant("unknown refresh token")
	}
	if err != nil {
		return tokenResponse{}, s.storageUnavailable(c, "reading refresh token failed", err)
	}
	if client.ClientID != parent.ClientID {
		return tokenResponse{}, invalidGrant("the refresh token was not issued to this client")
	}

	credential, err := s.deps.Store.GetCredential(c.Request.Context(), parent.CredentialID)
	if err != nil && !isNotFound(err) {
		return tokenResponse{}, s.storageUnavailable(c, "reading credential failed", err)
	}
	now := s.now()
	if err != nil || inactiveReason(credential, now) != "" {
		return tokenResponse{}, invalidGrant("the credential of this refresh token is no longer active")
	}

	scopes, tokenErr := narrowScopes(form, parent.Scopes, "the refresh token")
	if tokenErr != nil {
		return tokenResponse{}, tokenErr
	}
	return s.rotateRefreshToken(c, presented, parent, credential, scopes, now)
}

// rotateRefreshToken signs the new pair and spends the parent in storage.
func (s *Server) rotateRefreshToken(c *gin.Context, presented string, parent store.RefreshToken, credential store.Credential, scopes scope.Set, now time.Time) (tokenResponse, *tokenError) {
	childToken := s.deps.Secrets.ChildRefreshToken(presented)
	childHash := s.deps.Secrets.HashRefreshToken(childToken)

	response, tokenErr := s.issueAccessToken(c, credential, scopes, now)
	if tokenErr != nil {
		return tokenResponse{}, tokenErr
	}
	sealed, err := s.deps.Sealer.Seal([]byte(response.AccessToken), childHash)
	if err != nil {
		s.deps.Logger.ErrorContext(c, "sealing access token failed", "client_id", credential.ClientID, "error", err)
		return tokenResponse{}, &tokenError{status: http.StatusInternalServerError, code: errServerError, description: "could not store the token"}
	}

	child := store.RefreshToken{
		Hash:              childHash,
		ParentHash:        parent.Hash,
		CredentialID:      credential.ID,
		ClientID:          credential.ClientID,
		Scopes:            scopes,
		SealedAccessToken: sealed,
		CreatedAt:         now,
		ExpiresAt:         now.Add(s.config.RefreshTTL),
	}
	writeCtx, cancel := background(c.Request.Context())
	defer cancel()
	rotation, err := s.deps.Store.RotateRefreshToken(writeCtx, parent.Hash, child, now, s.config.RefreshGrace)
	switch {
	case errors.Is(err, store.ErrRefreshReused):
		s.deps.Metrics.refreshReuse.Inc()
		s.deps.Logger.WarnContext(c, "refresh token reuse detected, family revoked", "client_id", parent.ClientID, "credential_id", parent.CredentialID, "family_id", parent.FamilyID)
		return tokenResponse{}, invalidGrant("the refresh token was already used; every token of its family is now revoked")
	case errors.Is(err, store.ErrRefreshInactive), isNotFound(err):
		return tokenResponse{}, invalidGrant("the refresh token is revoked or expired")
	case err != nil:
		return tokenResponse{}, s.storageUnavailable(c, "rotating refresh token failed", err)
	}

	if rotation.Replayed {
		return s.replayedPair(c, childToken, rotation.Token, now)
	}
	s.deps.Usage.Record(credential.ID, now)
	response.RefreshToken = &childToken
	return response, nil
}

// replayedPair returns the pair an earlier rotation of the same parent
// stored, for a concurrent refresh inside the grace period.
func (s *Server) replayedPair(c *gin.Context, childToken string, child store.RefreshToken, now time.Time) (tokenResponse, *tokenError) {
	if !secret.Equal(child.Hash, s.deps.Secrets.HashRefreshToken(childToken)) {
		s.deps.Logger.ErrorContext(c, "stored replacement refresh token does not match the derived one", "client_id", child.ClientID)
		return tokenResponse{}, invalidGrant("the refresh token was already used")
	}
	accessToken, err := s.deps.Sealer.Open(child.SealedAccessToken, child.Hash)
	if err != nil {
		s.deps.Logger.ErrorContext(c, "opening stored access token failed", "client_id", child.ClientID, "error", err)
		return tokenResponse{}, &tokenError{status: http.StatusInternalServerError, code: errServerError, description: "could not read the stored token"}
	}

	var parsed claims.AccessToken
	if _, _, err := jwt.NewParser().ParseUnverified(string(accessToken), &parsed); err != nil || parsed.ExpiresAt == nil {
		s.deps.Logger.ErrorContext(c, "stored access token is unreadable", "client_id", child.ClientID, "error", err)
		return tokenResponse{}, &tokenError{status: http.StatusInternalServerError, code: errServerError, description: "could not read the stored token"}
	}
	return tokenResponse{
		AccessToken:  string(accessToken),
		TokenType:    "bearer",
		ExpiresIn:    max(0, int64(parsed.ExpiresAt.Sub(now)/time.Second)),
		RefreshToken: &childToken,
		Scope:        scope.Set(child.Scopes).String(),
	}, nil
}

// storageUnavailable logs a storage failure with the ids in attrs and
// returns the 503 token error.
func (s *Server) storageUnavailable(c *gin.Context, message string, err error, attrs ...any) *tokenError {
	s.deps.Logger.ErrorContext(c, message, append(attrs, "error", err)...)
	return &tokenError{status: http.StatusServiceUnavailable, code: errTemporarilyUnavailable, description: "storage is unavailable, retry later"}
}
