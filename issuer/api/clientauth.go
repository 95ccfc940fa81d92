package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/gatepass/gatepass/issuer/secret"
	"github.com/gatepass/gatepass/issuer/store"
)

// clientCredentials are the client id and secret a token request presents.
type clientCredentials struct {
	clientID string
	secret   string
}

// extractClientCredentials reads client_secret_basic (the Authorization
// header) or client_secret_post (form fields). Using both at once is
// invalid_request (RFC 6749, section 2.3).
func extractClientCredentials(c *gin.Context, form tokenForm) (clientCredentials, *tokenError) {
	headers := c.Request.Header.Values("Authorization")
	if len(headers) > 1 {
		return clientCredentials{}, invalidRequest("send one Authorization header")
	}
	header := c.GetHeader("Authorization")
	if header == "" {
		return clientCredentials{clientID: form.get("client_id"), secret: form.get("client_secret")}, nil
	}

	if form.has("client_secret") {
		return clientCredentials{}, invalidRequest("send the client secret either in the Authorization header or in the form, not both")
	}
	username, password, err := parseBasic(header)
	if err != nil {
		return clientCredentials{}, err
	}
	if form.has("client_id") && form.get("client_id") != username {
		return clientCredentials{}, invalidRequest("client_id in the form differs from the one in the Authorization header")
	}
	return clientCredentials{clientID: username, secret: password}, nil
}

// parseBasic decodes an HTTP Basic header whose user and password are
// form-urlencoded (RFC 6749, section 2.3.1).
func parseBasic(header string) (username, password string, err *tokenError) {
	scheme, encoded, found := strings.Cut(header, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", invalidClient("the Authorization header must use the Basic scheme with the client id and secret")
	}

	decoded, decodeErr := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if decodeErr != nil {
		return "", "", invalidClient("the Basic credentials are not valid base64")
	}
	rawUser, rawPassword, found := strings.Cut(string(decoded), ":")
	if !found {
		return "", "", invalidClient("the Basic credentials must have the form client_id:client_secret")
	}

	username, userErr := url.QueryUnescape(rawUser)
	password, passwordErr := url.QueryUnescape(rawPassword)
	if userErr != nil || passwordErr != nil {
		return "", "", invalidClient("the Basic credentials are not valid form-urlencoding")
	}
	return username, password, nil
}

// authenticateClient authenticates a token request and returns the active
// credential it presented. Failures are slowed down, and callers that keep
// failing get 429 until their limit recovers.
func (s *Server) authenticateClient(c *gin.Context, form tokenForm) (store.Credential, *tokenError) {
	presented, err := extractClientCredentials(c, form)
	if err != nil {
		return store.Credential{}, err
	}
	if presented.clientID == "" {
		return store.Credential{}, invalidRequest("client_id is required")
	}
	if presented.secret == "" {
		return store.Credential{}, invalidRequest("client_secret is required, in the form or in an HTTP Basic header")
	}
	if !ValidClientID(presented.clientID) {
		// No such client can exist, and checking here keeps arbitrary
		// client input out of the limiter's keys.
		return store.Credential{}, invalidClient("unknown client or secret")
	}

	limitKeys := failureKeys(presented.clientID, c.ClientIP())
	if wait := max(s.deps.Limiter.RetryAfter(limitKeys[0]), s.deps.Limiter.RetryAfter(limitKeys[1])); wait > 0 {
		c.Header("Retry-After", retryAfterSeconds(wait))
		return store.Credential{}, &tokenError{status: http.StatusTooManyRequests, code: errTemporarilyUnavailable,
			description: "too many failed authentication attempts; retry after " + retryAfterSeconds(wait) + " seconds"}
	}

	credential, reason, lookupErr := s.checkSecret(c, presented)
	if lookupErr != nil {
		return store.Credential{}, s.storageUnavailable(c, "reading credential failed", lookupErr, "client_id", presented.clientID)
	}
	if reason != "" {
		s.recordAuthFailure(c, limitKeys, presented.clientID, reason)
		return store.Credential{}, invalidClient(reason)
	}
	return credential, nil
}

// failureKeys returns the limiter keys of an authentication attempt: the
// pair of client id and address, and the address alone. Failures are never
// counted per client id alone, because then anyone with a client id
// could lock that client out from every address.
func failureKeys(clientID, address string) [2]string {
	return [2]string{"client:" + clientID + "@" + address, "addr:" + address}
}

// checkSecret verifies the presented secret. It returns a non-empty reason
// for a client error, or an error when storage failed.
func (s *Server) checkSecret(c *gin.Context, presented clientCredentials) (store.Credential, string, error) {
	credentialID, err := s.deps.Secrets.ParseCredentialSecret(presented.secret)
	if errors.Is(err, secret.ErrChecksum) {
		return store.Credential{}, "the client secret has a bad checksum; check that it was copied whole", nil
	}
	if err != nil {
		return store.Credential{}, "the client secret is not a gatepass secret", nil
	}

	credential, err := s.deps.Store.GetCredential(c.Request.Context(), credentialID)
	if isNotFound(err) {
		return store.Credential{}, "unknown client or secret", nil
	}
	if err != nil {
		return store.Credential{}, "", err
	}

	hashMatches := secret.Equal(credential.SecretHash, s.deps.Secrets.HashCredentialSecret(presented.secret))
	if !hashMatches || credential.ClientID != presented.clientID {
		return store.Credential{}, "unknown client or secret", nil
	}
	return credential, inactiveReason(credential, s.now()), nil
}

// inactiveReason explains why a credential may not get a token at now, or
// returns "" when it may. Both grants apply it.
func inactiveReason(credential store.Credential, now time.Time) string {
	switch {
	case credential.RevokedAt != nil:
		return "the credential has been revoked"
	case credential.ClientDisabled:
		return "the client is disabled"
	case credential.ExpiresAt != nil && !now.Before(*credential.ExpiresAt):
		return "the credential expired at " + formatTime(*credential.ExpiresAt)
	case credential.ExpiresAt != nil && credential.ExpiresAt.Truncate(time.Second).Before(now.Add(time.Second)):
		// Tokens carry whole seconds and never outlive their credential, so
		// a token for one ending within the second would arrive expired.
		return "the credential expires at " + formatTime(*credential.ExpiresAt) + ", too soon for a token; use another credential"
	}
	return ""
}

// recordAuthFailure counts a failed authentication, logs it, and holds the
// response back by the delay the limiter requests.
func (s *Server) recordAuthFailure(c *gin.Context, limitKeys [2]string, clientID, reason string) {
	s.deps.Metrics.authFailures.Inc()
	s.deps.Logger.InfoContext(c, "client authentication failed", "client_id", clientID, "remote_addr", c.ClientIP(), "reason", reason)

	delayResponse(c, max(s.deps.Limiter.Fail(limitKeys[0]), s.deps.Limiter.Fail(limitKeys[1])))
}

// delayResponse holds the response back by delay, or until the client goes
// away.
func delayResponse(c *gin.Context, delay time.Duration) {
	if delay <= 0 {
		return
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-c.Request.Context().Done():
	}
}
