package jwks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// DiscoveryPath is the path of an OpenID provider's metadata document
// (OpenID Connect Discovery 1.0, section 4).
const DiscoveryPath = "/.well-known/openid-configuration"

// maxDocumentBytes caps the size of a discovery or JWK Set document.
const maxDocumentBytes = 1 << 20

// discoverJWKSURL fetches the issuer's discovery document and returns its
// jwks_uri. The document's issuer must equal issuerURL exactly, as OpenID
// Connect Discovery 1.0 section 4.3 requires, so a misconfigured proxy or a
// wrong URL cannot hand the sidecar someone else's keys.
func discoverJWKSURL(ctx context.Context, client *http.Client, issuerURL string) (string, error) {
	location := strings.TrimSuffix(issuerURL, "/") + DiscoveryPath
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return "", fmt.Errorf("building discovery request for %s: %w", location, err)
	}
	request.Header.Set("Accept", "application/json")

	response, err := client.Do(request)
	if err != nil {
		return "", fmt.Errorf("fetching discovery document: %w", err)
	}
	defer response.Body.Close()

	if response.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetching discovery document %s: status %s", location, response.Status)
	}
	body, err := io.ReadAll(io.LimitReader(response.Body, maxDocumentBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading discovery document %s: %w", location, err)
	}
	if len(body) > maxDocumentBytes {
		return "", fmt.Errorf("discovery document %s is larger than %d bytes", location, maxDocumentBytes)
	}

	var metadata struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &metadata); err != nil {
		return "", fmt.Errorf("decoding discovery document %s: %w", location, err)
	}
	if metadata.Issuer != issuerURL {
		return "", fmt.Errorf("discovery document %s names issuer %q, want %q: check GATEPASS_ISSUER_URL", location, metadata.Issuer, issuerURL)
	}
	if err := validateHTTPURL(metadata.JWKSURI); err != nil {
		return "", fmt.Errorf("discovery document %s: jwks_uri: %w", location, err)
	}
	return metadata.JWKSURI, nil
}

// validateHTTPURL checks that raw is an absolute http or https URL.
func validateHTTPURL(raw string) error {
	parsed, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %w", raw, err)
	}
	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return fmt.Errorf("URL %q must use http or https", raw)
	}
	if parsed.Host == "" {
		return fmt.Errorf("URL %q has no host", raw)
	}
	return nil
}
