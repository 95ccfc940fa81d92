package authz

import (
	"fmt"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/gatepass/gatepass/shared/claims"
	"github.com/gatepass/gatepass/shared/scope"
	"github.com/gatepass/gatepass/shared/verify"
)

// identity is the cached result of verifying a token: the key that verified
// it, its scopes, and its OK response, built once. Every check of the token
// shares the response, so nothing may modify it.
type identity struct {
	key    verify.Key
	scopes scope.Set
	ok     *authv3.OkHttpResponse

	// cost estimates the bytes the identity takes in memory.
	cost int64
}

// newIdentity keeps what the sidecar needs of a token that key verified. It
// rejects identity values that cannot travel in an HTTP header unchanged.
func (s *Server) newIdentity(key verify.Key, accessToken *claims.AccessToken) (*identity, error) {
	scopes, err := accessToken.Scopes()
	if err != nil {
		return nil, &verify.Error{Reason: verify.ReasonClaims, Err: fmt.Errorf("scope claim: %w", err)}
	}
	claimValues := [4]string{accessToken.Subject, accessToken.ClientID, scopes.String(), accessToken.CredentialID}
	for i, claim := range [4]string{"sub", "client_id", "scope", "credential_id"} {
		if !isFieldValue(claimValues[i]) {
			return nil, &verify.Error{Reason: verify.ReasonClaims, Err: fmt.Errorf("claim %s contains control characters", claim)}
		}
	}

	ok := s.okResponse(claimValues)
	// The public key is shared with the key cache, so only the kid counts.
	cost := int64(200 + len(key.ID))
	for _, header := range ok.Headers {
		cost += int64(100 + len(header.Header.Key) + len(header.Header.Value))
	}
	for _, token := range scopes {
		cost += int64(16 + len(token))
	}
	return &identity{key: key, scopes: scopes, ok: ok, cost: cost}, nil
}

// okResponse sets the identity headers that have a value and removes every
// other identity header, so the upstream receives only what the sidecar
// vouches for. Setting and removing never name the same header, so the
// result does not depend on the order in which Envoy applies them. The
// values follow the order of HeaderNames.list, and all empty means a public
// request.
func (s *Server) okResponse(values [4]string) *authv3.OkHttpResponse {
	ok := &authv3.OkHttpResponse{}
	for i, name := range s.headerNames.list() {
		if values[i] == "" {
			ok.HeadersToRemove = append(ok.HeadersToRemove, name)
			continue
		}
		ok.Headers = append(ok.Headers, setHeader(name, values[i]))
	}
	if s.removeAuthorization {
		ok.HeadersToRemove = append(ok.HeadersToRemove, "authorization")
	}
	return ok
}
