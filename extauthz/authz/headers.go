package authz

import (
	"fmt"
	"strings"
)

// HeaderNames are the request headers that carry the caller's identity to
// the upstream.
type HeaderNames struct {
	Subject      string
	ClientID     string
	Scopes       string
	CredentialID string
}

// DefaultHeaderNames returns the identity header names used when none are
// configured.
func DefaultHeaderNames() HeaderNames {
	return HeaderNames{
		Subject:      "x-auth-subject",
		ClientID:     "x-auth-client-id",
		Scopes:       "x-auth-scopes",
		CredentialID: "x-auth-credential-id",
	}
}

// list returns the names in a fixed order: subject, client id, scopes,
// credential id.
func (h HeaderNames) list() []string {
	return []string{h.Subject, h.ClientID, h.Scopes, h.CredentialID}
}

// normalize lower-cases the names and checks that they are distinct HTTP
// field names that Envoy lets an authorization service set.
func (h HeaderNames) normalize() (HeaderNames, error) {
	normalized := HeaderNames{
		Subject:      strings.ToLower(h.Subject),
		ClientID:     strings.ToLower(h.ClientID),
		Scopes:       strings.ToLower(h.Scopes),
		CredentialID: strings.ToLower(h.CredentialID),
	}
	seen := map[string]bool{}
	for _, name := range normalized.list() {
		switch {
		case name == "":
			return HeaderNames{}, fmt.Errorf("an identity header name is empty: set all four names")
		case !isFieldName(name):
			return HeaderNames{}, fmt.Errorf("identity header name %q is not a valid HTTP field name", name)
		case name == "authorization" || name == "host" || name == "content-length":
			return HeaderNames{}, fmt.Errorf("identity header name %q is reserved: choose a name such as x-auth-subject", name)
		case seen[name]:
			return HeaderNames{}, fmt.Errorf("identity header name %q is used twice", name)
		}
		seen[name] = true
	}
	return normalized, nil
}

// isFieldName reports whether name is an RFC 9110 token. A leading colon,
// which marks an HTTP/2 pseudo-header, is not part of that syntax.
func isFieldName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// isFieldValue reports whether value can be sent as an HTTP field value
// unchanged: no control characters, which could end the field or inject
// another.
func isFieldValue(value string) bool {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// challengeText makes text fit a quoted error_description, which RFC 6750
// section 3 limits to printable ASCII without '"' and '\'.
func challengeText(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\'')
		case c < 0x20 || c > 0x7e:
			b.WriteByte('?')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
