package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// OAuth 2.0 error codes (RFC 6749, section 5.2, and RFC 6750, section 3.1).
const (
	errInvalidRequest         = "invalid_request"
	errInvalidClient          = "invalid_client"
	errInvalidGrant           = "invalid_grant"
	errUnsupportedGrantType   = "unsupported_grant_type"
	errInvalidScope           = "invalid_scope"
	errInvalidToken           = "invalid_token"
	errInsufficientScope      = "insufficient_scope"
	errTemporarilyUnavailable = "temporarily_unavailable"
	errServerError            = "server_error"
)

// oauthError is the body of every OAuth error response. It carries both the
// RFC 6749 fields that OAuth libraries read and the detail field that the
// existing clients read.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Detail      string `json:"detail"`
}

// tokenError is an error of the token endpoint with its HTTP status.
type tokenError struct {
	status      int
	code        string
	description string
}

func (e *tokenError) Error() string { return e.code + ": " + e.description }

func invalidRequest(description string) *tokenError {
	return &tokenError{status: http.StatusBadRequest, code: errInvalidRequest, description: description}
}

func invalidClient(description string) *tokenError {
	return &tokenError{status: http.StatusUnauthorized, code: errInvalidClient, description: description}
}

func invalidGrant(description string) *tokenError {
	return &tokenError{status: http.StatusBadRequest, code: errInvalidGrant, description: description}
}

func invalidScope(description string) *tokenError {
	return &tokenError{status: http.StatusBadRequest, code: errInvalidScope, description: description}
}

// detailFor returns the short detail text existing clients show for status.
func detailFor(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "authentication failed"
	case http.StatusTooManyRequests:
		return "too many failed authentication attempts"
	case http.StatusInternalServerError, http.StatusServiceUnavailable:
		return "internal error"
	default:
		return "invalid request"
	}
}

// writeTokenError sends err in the token endpoint's error shape. Failed
// client authentication gets 401 with a Basic challenge (RFC 6749, section
// 5.2).
func writeTokenError(c *gin.Context, err *tokenError) {
	if err.status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Basic realm="gatepass", charset="UTF-8"`)
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")

	detail := detailFor(err.status)
	if err.status == http.StatusBadRequest {
		detail = err.description
	}
	c.AbortWithStatusJSON(err.status, oauthError{Error: err.code, Description: err.description, Detail: detail})
}

// detailBody is the {"detail": "..."} body of non-OAuth errors.
type detailBody struct {
	Detail string `json:"detail"`
}

// writeBearerError rejects a request to a resource endpoint such as /me
// (RFC 6750, section 3).
func writeBearerError(c *gin.Context, status int, code, description string) {
	c.Header("WWW-Authenticate", `Bearer realm="gatepass", error="`+code+`", error_description="`+quoteSafe(description)+`"`)
	c.AbortWithStatusJSON(status, detailBody{Detail: description})
}

// quoteSafe drops the characters a quoted-string parameter cannot carry.
func quoteSafe(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			out = append(out, c)
		}
	}
	return string(out)
}

// writeDetail sends {"detail": message} with status.
func writeDetail(c *gin.Context, status int, message string) {
	c.AbortWithStatusJSON(status, detailBody{Detail: message})
}
