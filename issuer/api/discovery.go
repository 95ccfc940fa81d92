package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// handleJWKS serves the public signing keys with an ETag, so caches
// revalidate cheaply.
func (s *Server) handleJWKS(c *gin.Context) {
	body, etag := s.deps.Signer.JWKS()
	c.Header("Cache-Control", "public, max-age="+strconv.Itoa(int(s.config.JWKSMaxAge/time.Second)))
	c.Header("ETag", etag)
	if etagMatches(c.GetHeader("If-None-Match"), etag) {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, "application/jwk-set+json", body)
}

// etagMatches implements the If-None-Match comparison of RFC 9110, section
// 13.1.2, for one strong ETag.
func etagMatches(header, etag string) bool {
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == "*" || candidate == etag {
			return true
		}
	}
	return false
}

// metadata is the authorization server metadata (RFC 8414), also served as
// the OpenID Connect discovery document.
type metadata struct {
	Issuer                            string   `json:"issuer"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported,omitempty"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ServiceDocumentation              string   `json:"service_documentation,omitempty"`
}

// handleMetadata serves RFC 8414 and OpenID Connect Discovery metadata.
// gatepass issues no ID tokens, but it fills the OIDC fields that discovery
// requires so OIDC libraries can find the keys. response_types_supported is
// the "token" pseudo-type because there is no authorization endpoint.
func (s *Server) handleMetadata(c *gin.Context) {
	base := strings.TrimSuffix(s.config.IssuerURL, "/")
	c.Header("Cache-Control", "public, max-age=3600")
	c.JSON(http.StatusOK, metadata{
		Issuer:                            s.config.IssuerURL,
		TokenEndpoint:                     base + "/token",
		JWKSURI:                           base + "/jwks",
		UserinfoEndpoint:                  base + "/me",
		GrantTypesSupported:               []string{grantClientCredentials, grantRefreshToken},
		ResponseTypesSupported:            []string{"token"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_basic", "client_secret_post"},
		IDTokenSigningAlgValuesSupported:  []string{s.config.SigningAlgorithm},
		SubjectTypesSupported:             []string{"public"},
		ScopesSupported:                   []string{OfflineAccessScope, ScopeCredentialsRead, ScopeCredentialsWrite, ScopeAdmin},
	})
}
