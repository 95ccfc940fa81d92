// Package scope parses and compares OAuth 2.0 scope strings.
//
// A scope string is a space-delimited list of scope tokens (RFC 6749,
// section 3.3). Each token is one or more characters from %x21, %x23-5B and
// %x5D-7E: printable ASCII without space, double quote and backslash.
package scope

import (
	"fmt"
	"slices"
	"strings"
)

// MaxTokenLength is the longest scope token accepted, in bytes.
const MaxTokenLength = 128

// MaxTokens is the largest number of scope tokens accepted in one set.
const MaxTokens = 64

// Set is a sorted list of distinct scope tokens.
type Set []string

// Parse splits a space-delimited scope string into a sorted Set of distinct
// tokens. It rejects tokens that RFC 6749 does not allow, tokens longer than
// MaxTokenLength and sets of more than MaxTokens. Runs of spaces are
// tolerated, and an empty string yields an empty Set.
func Parse(s string) (Set, error) {
	return FromList(strings.Split(s, " "))
}

// FromList validates each token and returns them as a sorted Set without
// duplicates. Empty strings are skipped, so the output of strings.Split on a
// string with repeated spaces is accepted.
func FromList(tokens []string) (Set, error) {
	set := make(Set, 0, len(tokens))
	for _, token := range tokens {
		if token == "" {
			continue
		}
		if err := ValidateToken(token); err != nil {
			return nil, err
		}
		set = append(set, token)
	}

	slices.Sort(set)
	set = slices.Compact(set)
	if len(set) > MaxTokens {
		return nil, fmt.Errorf("too many scopes: %d, the maximum is %d", len(set), MaxTokens)
	}
	return set, nil
}

// ValidateToken reports whether token is a valid RFC 6749 scope token of at
// most MaxTokenLength bytes.
func ValidateToken(token string) error {
	if token == "" {
		return fmt.Errorf("empty scope token")
	}
	if len(token) > MaxTokenLength {
		return fmt.Errorf("scope token %.32q... is %d bytes long, the maximum is %d", token, len(token), MaxTokenLength)
	}
	for i := 0; i < len(token); i++ {
		if !isScopeChar(token[i]) {
			return fmt.Errorf("invalid scope token %q: character %q at offset %d is not allowed (RFC 6749 section 3.3 allows printable ASCII except space, '\"' and '\\')", token, token[i], i)
		}
	}
	return nil
}

func isScopeChar(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}

// String joins the set with single spaces, the wire form of the scope
// parameter and claim.
func (s Set) String() string {
	return strings.Join(s, " ")
}

// Has reports whether the set contains token.
func (s Set) Has(token string) bool {
	_, found := slices.BinarySearch(s, token)
	return found
}

// Missing returns the tokens of want that s lacks, in the order of want.
func (s Set) Missing(want Set) Set {
	var missing Set
	for _, token := range want {
		if !s.Has(token) {
			missing = append(missing, token)
		}
	}
	return missing
}

// Contains reports whether every token of want is in s.
func (s Set) Contains(want Set) bool {
	return len(s.Missing(want)) == 0
}

// HasAny reports whether s holds at least one token of want.
func (s Set) HasAny(want Set) bool {
	for _, token := range want {
		if s.Has(token) {
			return true
		}
	}
	return false
}
