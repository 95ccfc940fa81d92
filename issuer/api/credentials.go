package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/issuer/secret"
	"github.com/gatepass/gatepass/issuer/store"
)

// credentialView is a credential as listed; it never carries a secret.
type credentialView struct {
	CredentialID string   `json:"credential_id"`
	Type         string   `json:"type"`
	CreatedAt    string   `json:"created_at"`
	ExpiresAt    *string  `json:"expires_at"`
	Scopes       []string `json:"scopes"`
	LastUsedAt   *string  `json:"last_used_at"`
}

// createdCredential is the response to a creation. The secret appears here
// once and is never stored.
type createdCredential struct {
	ClientID      string `json:"client_id"`
	CredentialID  string `json:"credential_id"`
	Secret        string `json:"secret"`
	ExpiresInDays *int   `json:"expires_in_days"`
}

// clientIDParam reads and validates the client id path parameter.
func clientIDParam(c *gin.Context) (string, bool) {
	clientID := c.Param("client_id")
	if !ValidClientID(clientID) {
		writeValidationError(c, "client id must be 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit", "value_error.str.regex", "path", "client_id")
		return "", false
	}
	return clientID, true
}

// handleListCredentials serves GET /clients/{client_id}/credentials.
func (s *Server) handleListCredentials(c *gin.Context) {
	clientID, ok := clientIDParam(c)
	if !ok {
		return
	}
	requester, ok := s.authenticateCaller(c, headerOrCookie, true)
	if !ok || !requireClientAccess(c, requester, clientID, ScopeCredentialsRead, ScopeCredentialsWrite) {
		return
	}

	credentials, err := s.deps.Store.ListActiveCredentials(c.Request.Context(), clientID, s.now())
	if isNotFound(err) {
		writeDetail(c, http.StatusNotFound, "client "+clientID+" not found")
		return
	}
	if err != nil {
		s.internalError(c, "listing credentials failed", err, "client_id", clientID)
		return
	}

	if requester.isAdmin() {
		s.auditAdminRead(c, requester, clientID)
	}

	views := make([]credentialView, 0, len(credentials))
	for _, credential := range credentials {
		views = append(views, credentialView{
			CredentialID: credential.ID,
			Type:         credential.Type,
			CreatedAt:    formatTime(credential.CreatedAt),
			ExpiresAt:    formatOptionalTime(credential.ExpiresAt),
			Scopes:       append([]string{}, credential.Scopes...),
			LastUsedAt:   formatOptionalTime(credential.LastUsedAt),
		})
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, views)
}

// handleCreateCredential serves POST /clients/{client_id}/credentials.
func (s *Server) handleCreateCredential(c *gin.Context) {
	clientID, ok := clientIDParam(c)
	if !ok {
		return
	}
	requester, ok := s.authenticateCaller(c, headerOnly, true)
	if !ok || !requireClientAccess(c, requester, clientID, ScopeCredentialsWrite) {
		return
	}
	request, ok := readCreateCredentialRequest(c)
	if !ok {
		return
	}

	now := s.now()
	if !requester.isAdmin() && !s.withinCallerGrant(c, requester, request) {
		return
	}
	if !s.belowCredentialCap(c, clientID, now) {
		return
	}
	expiresAt, expiresInDays := s.credentialExpiry(requester, request.ExpiresInDays, now)

	credentialID := secret.NewCredentialID()
	value, err := s.deps.Secrets.NewCredentialSecret(credentialID)
	if err != nil {
		s.internalError(c, "creating credential secret failed", err, "client_id", clientID)
		return
	}
	credential := store.Credential{
		ID:          credentialID,
		ClientID:    clientID,
		Type:        request.Type,
		SecretHash:  s.deps.Secrets.HashCredentialSecret(value),
		Scopes:      request.Scopes,
		Permissions: request.Permissions,
		CreatedAt:   now,
		ExpiresAt:   expiresAt,
	}
	event := store.AuditEvent{Time: now, Actor: requester.actor(), Action: "credential.created", ClientID: clientID, CredentialID: credentialID,
		Detail: "type=" + request.Type + " scopes=" + request.Scopes.String()}

	writeCtx, cancel := background(c.Request.Context())
	defer cancel()
	err = s.deps.Store.CreateCredential(writeCtx, credential, store.CreateCredentialOptions{RegisterClient: requester.isAdmin()}, event)
	if isNotFound(err) {
		writeDetail(c, http.StatusNotFound, "client "+clientID+" not found")
		return
	}
	if err != nil {
		s.internalError(c, "storing credential failed", err, "client_id", clientID)
		return
	}

	s.deps.Logger.InfoContext(c, "credential created", "client_id", clientID, "credential_id", credentialID, "actor", requester.actor())
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, createdCredential{ClientID: clientID, CredentialID: credentialID, Secret: value, ExpiresInDays: expiresInDays})
}

// belowCredentialCap checks that clientID may get another active
// credential. It writes 409 or 500 and returns false otherwise.
//
// NOTE: concurrent creations can each pass the check, so the cap may be
// exceeded by the number of requests in flight.
func (s *Server) belowCredentialCap(c *gin.Context, clientID string, now time.Time) bool {
	if s.config.MaxActiveCredentials == 0 {
		return true
	}
	active, err := s.deps.Store.ListActiveCredentials(c.Request.Context(), clientID, now)
	if err != nil && !isNotFound(err) {
		s.internalError(c, "counting credentials failed", err, "client_id", clientID)
		return false
	}
	if len(active) >= s.config.MaxActiveCredentials {
		writeDetail(c, http.StatusConflict, fmt.Sprintf("client %s already has %d active credentials, the maximum; revoke unused ones first", clientID, len(active)))
		return false
	}
	return true
}

// withinCallerGrant enforces that a self-service credential never holds a
// scope or permission its creator lacks. It writes 403 and returns false
// otherwise.
func (s *Server) withinCallerGrant(c *gin.Context, requester caller, request createCredentialRequest) bool {
	if missing := requester.scopes.Missing(request.Scopes); len(missing) > 0 {
		writeDetail(c, http.StatusForbidden, "a credential cannot get scopes its creator's token lacks: "+missing.String())
		return false
	}
	for _, permission := range request.Permissions {
		callerHasIt := slices.ContainsFunc(requester.credential.Permissions, func(own []string) bool { return slices.Equal(own, permission) })
		if !callerHasIt {
			writeDetail(c, http.StatusForbidden, "a credential cannot get permissions its creator lacks")
			return false
		}
	}
	return true
}

// credentialExpiry computes the expiry of a new credential: the requested
// days, capped by the server-wide maximum and, for self-service, by the
// expiry of the caller's own credential. It returns the days actually
// granted, rounded to the nearest day, or nil for no expiry. Rounding down
// would report 89 for the default 90 days capped by a caller's credential
// that ends a few seconds earlier.
func (s *Server) credentialExpiry(requester caller, requestedDays *int, now time.Time) (*time.Time, *int) {
	var expiresAt *time.Time
	if requestedDays != nil {
		at := now.AddDate(0, 0, *requestedDays)
		expiresAt = &at
	}
	if s.config.MaxCredentialDays > 0 {
		capAt := now.AddDate(0, 0, s.config.MaxCredentialDays)
		expiresAt = earliest(expiresAt, &capAt)
	}
	if !requester.isAdmin() {
		expiresAt = earliest(expiresAt, requester.credential.ExpiresAt)
	}

	if expiresAt == nil {
		return nil, nil
	}
	days := int(expiresAt.Sub(now).Round(24*time.Hour) / (24 * time.Hour))
	return expiresAt, &days
}

func earliest(a, b *time.Time) *time.Time {
	switch {
	case a == nil:
		return b
	case b == nil || a.Before(*b):
		return a
	default:
		return b
	}
}

// handleRevokeCredential serves DELETE /clients/{client_id}/credentials/{credential_id}.
func (s *Server) handleRevokeCredential(c *gin.Context) {
	clientID, ok := clientIDParam(c)
	if !ok {
		return
	}
	requester, ok := s.authenticateCaller(c, headerOnly, true)
	if !ok || !requireClientAccess(c, requester, clientID, ScopeCredentialsWrite) {
		return
	}

	credentialID := c.Param("credential_id")
	if !secret.ValidCredentialID(credentialID) {
		writeDetail(c, http.StatusNotFound, "credential not found")
		return
	}

	now := s.now()
	event := store.AuditEvent{Time: now, Actor: requester.actor(), Action: "credential.revoked", ClientID: clientID, CredentialID: credentialID}
	writeCtx, cancel := background(c.Request.Context())
	defer cancel()
	err := s.deps.Store.RevokeCredential(writeCtx, clientID, credentialID, now, event)
	if errors.Is(err, store.ErrNotFound) {
		writeDetail(c, http.StatusNotFound, "credential "+credentialID+" of client "+clientID+" not found or already revoked")
		return
	}
	if err != nil {
		s.internalError(c, "revoking credential failed", err, "client_id", clientID, "credential_id", credentialID)
		return
	}

	s.deps.Logger.InfoContext(c, "credential revoked", "client_id", clientID, "credential_id", credentialID, "actor", requester.actor())
	c.JSON(http.StatusOK, detailBody{Detail: "credential " + credentialID + " revoked"})
}

// auditAdminRead records that an administrator listed a client's
// credentials. A failure to record is logged, not returned, because the
// read itself changed nothing.
func (s *Server) auditAdminRead(c *gin.Context, requester caller, clientID string) {
	event := store.AuditEvent{Time: s.now(), Actor: requester.actor(), Action: "credential.listed", ClientID: clientID}
	writeCtx, cancel := background(c.Request.Context())
	defer cancel()
	if err := s.deps.Store.AppendAudit(writeCtx, event); err != nil {
		s.deps.Logger.ErrorContext(c, "recording audit event failed", "action", event.Action, "client_id", clientID, "actor", requester.actor(), "error", err)
	}
}
