// Package claims defines the claim set of a gatepass access token, a JWT
// profile of RFC 9068 shared by the issuer, which signs it, and by the
// sidecar and the /me endpoint, which verify it.
package claims

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/shared/scope"
)

// TokenType is the JOSE "typ" header of access tokens (RFC 9068, section 2.1).
const TokenType = "at+jwt"

// AccessToken is the claim set of an access token. RegisteredClaims carries
// iss, sub, aud, exp, nbf, iat and jti.
type AccessToken struct {
	jwt.RegisteredClaims

	// ClientID is the OAuth client the token was issued to.
	ClientID string `json:"client_id"`

	// Scope holds the granted scopes. On the wire it is a space-separated
	// string, but a JSON array is accepted too because other issuers send one.
	Scope ScopeClaim `json:"scope,omitempty"`

	// SCP is the array form of scopes that some other issuers use instead of
	// scope. gatepass never writes it.
	SCP ScopeClaim `json:"scp,omitempty"`

	// CredentialID names the client credential the token was obtained with.
	CredentialID string `json:"credential_id,omitempty"`

	// CredentialType is the type of that credential, such as "interactive".
	CredentialType string `json:"credential_type,omitempty"`

	// Permissions is carried verbatim from the credential.
	Permissions [][]string `json:"permissions,omitempty"`
}

// Scopes returns the union of the scope and scp claims as a validated set.
func (c *AccessToken) Scopes() (scope.Set, error) {
	tokens := make([]string, 0, len(c.Scope)+len(c.SCP))
	tokens = append(tokens, c.Scope...)
	tokens = append(tokens, c.SCP...)
	return scope.FromList(tokens)
}

// ScopeClaim is a list of scope tokens that encodes as a space-separated
// string and decodes from either such a string or a JSON array of strings.
type ScopeClaim []string

// MarshalJSON writes the scopes as one space-separated string.
func (s ScopeClaim) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.Join(s, " "))
}

// UnmarshalJSON accepts a space-separated string or an array of strings.
func (s *ScopeClaim) UnmarshalJSON(data []byte) error {
	var text string
	if err := json.Unmarshal(data, &text); err == nil {
		*s = strings.Fields(text)
		return nil
	}

	var list []string
	if err := json.Unmarshal(data, &list); err != nil {
		return fmt.Errorf("scope claim must be a string or an array of strings: %w", err)
	}
	*s = list
	return nil
}
