package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// meResponse describes the caller of /me.
type meResponse struct {
	// Sub repeats Subject under the OpenID Connect UserInfo name, because
	// discovery announces /me as the userinfo_endpoint.
	Sub            string     `json:"sub"`
	Subject        string     `json:"subject"`
	ClientID       string     `json:"client_id"`
	CredentialID   string     `json:"credential_id"`
	CredentialType string     `json:"credential_type"`
	Scopes         []string   `json:"scopes"`
	Permissions    [][]string `json:"permissions"`
	IssuedAt       string     `json:"issued_at"`
	ExpiresAt      string     `json:"expires_at"`
}

// handleMe serves GET /me: requester the bearer of the access token is. The token
// comes from the Authorization header or, without one, from the cookie.
func (s *Server) handleMe(c *gin.Context) {
	requester, ok := s.authenticateCaller(c, headerOrCookie, false)
	if !ok {
		return
	}

	permissions := requester.token.Permissions
	if permissions == nil {
		permissions = [][]string{}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, meResponse{
		Sub:            requester.token.Subject,
		Subject:        requester.token.Subject,
		ClientID:       requester.token.ClientID,
		CredentialID:   requester.credential.ID,
		CredentialType: requester.credential.Type,
		Scopes:         append([]string{}, requester.scopes...),
		Permissions:    permissions,
		IssuedAt:       formatTime(requester.token.IssuedAt.Time),
		ExpiresAt:      formatTime(requester.token.ExpiresAt.Time),
	})
}

// formatTime writes t the way the existing API did: RFC 3339 in UTC with
// microseconds and an explicit +00:00 offset, as Python's isoformat() does.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000") + "+00:00"
}

// formatOptionalTime is formatTime for a nullable time.
func formatOptionalTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	formatted := formatTime(*t)
	return &formatted
}
