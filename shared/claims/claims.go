// Package claims defines the claim set of a gatepass access token, a JWT
// profile of RFC 9068 shared by the issuer, which signs it, and by the
// sidecar and the /me endpoint, which verify it.
package claims

import (
	"bytes"
	"encoding/json"
	"errors"
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

// knownClaims maps the lower-case form of every claim name AccessToken
// decodes to its exact spelling.
var knownClaims = map[string]string{
	"iss": "iss", "sub": "sub", "aud": "aud", "exp": "exp", "nbf": "nbf", "iat": "iat", "jti": "jti",
	"client_id": "client_id", "scope": "scope", "scp": "scp", "credential_id": "credential_id",
	"credential_type": "credential_type", "permissions": "permissions",
}

// UnmarshalJSON decodes the claims after checking their names. encoding/json
// matches member names case-insensitively and keeps the last of duplicate
// members, so {"scope":"read","SCOPE":"admin"} would otherwise decode as
// admin while another parser reads read. Both forms are rejected.
func (c *AccessToken) UnmarshalJSON(data []byte) error {
	if err := checkClaimNames(data); err != nil {
		return err
	}
	type plain AccessToken
	return json.Unmarshal(data, (*plain)(c))
}

// checkClaimNames rejects duplicate member names, compared without case,
// and known claim names in another case.
func checkClaimNames(data []byte) error {
	decoder := json.NewDecoder(bytes.NewReader(data))
	if token, err := decoder.Token(); err != nil || token != json.Delim('{') {
		return errors.New("claims must be a JSON object")
	}

	seen := make(map[string]struct{}, len(knownClaims))
	for decoder.More() {
		token, err := decoder.Token()
		if err != nil {
			return fmt.Errorf("reading claim names: %w", err)
		}
		name, _ := token.(string)
		folded := strings.ToLower(name)
		if _, duplicate := seen[folded]; duplicate {
			return fmt.Errorf("claim %q appears more than once", name)
		}
		seen[folded] = struct{}{}
		if canonical, known := knownClaims[folded]; known && canonical != name {
			return fmt.Errorf("claim %q must be spelled %q", name, canonical)
		}

		var value json.RawMessage
		if err := decoder.Decode(&value); err != nil {
			return fmt.Errorf("reading claim %q: %w", name, err)
		}
	}
	return nil
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
