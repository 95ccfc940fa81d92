// Package bearer extracts an OAuth 2.0 bearer token from the value of an
// HTTP Authorization header (RFC 6750, section 2.1).
//
// The accepted form is the auth-scheme "Bearer", matched case-insensitively
// as RFC 7235 section 2.1 requires, then one or more spaces, then one token68
// value. Leading and trailing spaces and tabs are ignored, as HTTP strips
// them from field values. Anything else is either "no bearer credentials" or
// a malformed header, and RFC 6750 section 3.1 treats the two differently.
package bearer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatepass/gatepass/shared/verify"
)

// Scheme is the auth-scheme of bearer credentials.
const Scheme = "Bearer"

// MaxHeaderLength is the maximum Authorization header value accepted, in
// bytes: the maximum token length of the verifier plus room for the scheme
// and spaces. Longer values are rejected without being scanned.
const MaxHeaderLength = verify.MaxTokenLength + 64

// ErrNoCredentials means the header is absent or carries another scheme, such
// as Basic. Under RFC 6750 section 3.1 such a request gets a challenge
// without an error code.
var ErrNoCredentials = errors.New("request has no bearer credentials")

// MalformedError means the header tries to carry bearer credentials but is
// not well formed. It maps to the invalid_request error code.
type MalformedError struct {
	// Description states what is wrong, in words fit for error_description.
	Description string
}

func (e *MalformedError) Error() string {
	return "malformed Authorization header: " + e.Description
}

func malformed(format string, args ...any) error {
	return &MalformedError{Description: fmt.Sprintf(format, args...)}
}

// Token returns the bearer token in header, the value of one Authorization
// header. It returns ErrNoCredentials when header is empty or uses another
// scheme. It returns a *MalformedError for a bearer header that breaks the
// syntax: no scheme, no token, two tokens, several headers joined by a
// comma, characters outside token68, or more than MaxHeaderLength bytes.
func Token(header string) (string, error) {
	if len(header) > MaxHeaderLength {
		return "", malformed("the header is %d bytes long, the maximum is %d", len(header), MaxHeaderLength)
	}

	header = strings.Trim(header, " \t")
	if header == "" {
		return "", ErrNoCredentials
	}

	// A comma never occurs in bearer credentials, so it means that several
	// Authorization headers were joined into one value, as Envoy does.
	if strings.Contains(header, ",") {
		for _, part := range strings.Split(header, ",") {
			scheme, _, _ := strings.Cut(strings.Trim(part, " \t"), " ")
			if strings.EqualFold(scheme, Scheme) {
				return "", malformed("the request carries several credentials, send exactly one bearer token")
			}
		}
		return "", ErrNoCredentials
	}

	scheme, rest, hasCredentials := strings.Cut(header, " ")
	if strings.Contains(scheme, "\t") {
		return "", malformed("a tab follows the auth scheme, separate the scheme and the token with a space")
	}
	if !hasCredentials {
		if strings.EqualFold(scheme, Scheme) {
			return "", malformed("the Bearer scheme is not followed by a token")
		}
		return "", malformed("the header has no auth scheme, send it as %q", "Bearer <token>")
	}
	if !strings.EqualFold(scheme, Scheme) {
		return "", ErrNoCredentials
	}

	// RFC 6750 section 2.1 allows one or more spaces after the scheme.
	token := strings.TrimLeft(rest, " ")
	if strings.IndexByte(token, ' ') >= 0 || strings.IndexByte(token, '\t') >= 0 {
		return "", malformed("the header holds more than one token after the Bearer scheme")
	}
	if err := validateToken68(token); err != nil {
		return "", err
	}
	return token, nil
}

// validateToken68 checks token against the token68 rule of RFC 7235 section
// 2.1: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func validateToken68(token string) error {
	if token == "" {
		return malformed("the Bearer scheme is not followed by a token")
	}

	end := len(token)
	for end > 0 && token[end-1] == '=' {
		end--
	}
	if end == 0 {
		return malformed("the token consists only of padding characters")
	}
	for i := 0; i < end; i++ {
		if !isToken68Char(token[i]) {
			return malformed("the token contains byte %#02x at offset %d, which token68 does not allow", token[i], i)
		}
	}
	return nil
}

func isToken68Char(c byte) bool {
	return token68Chars[c]
}

// token68Chars marks the bytes token68 allows before its padding. A table
// keeps the per-byte test of long tokens cheap.
var token68Chars = func() (table [256]bool) {
	for c := range 256 {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			table[c] = true
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
			table[c] = true
		}
	}
	return table
}()
