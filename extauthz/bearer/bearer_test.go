package bearer

import (
	"errors"
	"strings"
	"testing"
)

const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJzdmMifQ.c2lnbmF0dXJl"

func TestToken(t *testing.T) {
	tests := []struct {
		name          string
		header        string
		want          string
		noCredentials bool
		malformed     bool
	}{
		{name: "canonical", header: "Bearer " + jwt, want: jwt},
		{name: "lower-case scheme", header: "bearer " + jwt, want: jwt},
		{name: "upper-case scheme", header: "BEARER " + jwt, want: jwt},
		{name: "several spaces after scheme", header: "Bearer   " + jwt, want: jwt},
		{name: "surrounding whitespace", header: " \tBearer " + jwt + " \t", want: jwt},
		{name: "token68 padding", header: "Bearer abc+/==", want: "abc+/=="},
		{name: "token68 punctuation", header: "Bearer a-b.c_d~e", want: "a-b.c_d~e"},
		{name: "empty", header: "", noCredentials: true},
		{name: "only whitespace", header: "  \t ", noCredentials: true},
		{name: "basic scheme", header: "Basic dXNlcjpwYXNz", noCredentials: true},
		{name: "bearer prefix of other scheme", header: "BearerX " + jwt, noCredentials: true},
		{name: "other schemes joined", header: "Basic a, Digest b=c", noCredentials: true},
		{name: "no scheme", header: jwt, malformed: true},
		{name: "scheme without token", header: "Bearer", malformed: true},
		{name: "scheme with trailing space", header: "Bearer ", malformed: true},
		{name: "two tokens", header: "Bearer " + jwt + " " + jwt, malformed: true},
		{name: "two bearer headers joined", header: "Bearer a,Bearer b", malformed: true},
		{name: "bearer and basic joined", header: "Basic a, Bearer b", malformed: true},
		{name: "tab after scheme", header: "Bearer\t" + jwt, malformed: true},
		{name: "tab inside token", header: "Bearer abc\tdef", malformed: true},
		{name: "quote in token", header: `Bearer "abc"`, malformed: true},
		{name: "non-ASCII in token", header: "Bearer abcé", malformed: true},
		{name: "control character in token", header: "Bearer abc\x00", malformed: true},
		{name: "padding in the middle", header: "Bearer ab=c", malformed: true},
		{name: "only padding", header: "Bearer ==", malformed: true},
		{name: "oversize", header: "Bearer " + strings.Repeat("a", MaxHeaderLength), malformed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Token(tt.header)
			switch {
			case tt.noCredentials:
				if !errors.Is(err, ErrNoCredentials) {
					t.Errorf("Token() = %q, %v, want ErrNoCredentials", got, err)
				}
			case tt.malformed:
				var malformedErr *MalformedError
				if !errors.As(err, &malformedErr) {
					t.Errorf("Token() = %q, %v, want a *MalformedError", got, err)
				}
			default:
				if err != nil {
					t.Fatalf("Token() failed: %v", err)
				}
				if got != tt.want {
					t.Errorf("Token() = %q, want %q", got, tt.want)
				}
			}
		})
	}
}

// FuzzToken checks that every input yields either a token68 value found in
// the header or one of the two documented errors.
func FuzzToken(f *testing.F) {
	for _, seed := range []string{"", "Bearer " + jwt, "bearer  x", "Basic a", "Bearer a b", "Bearer a,Bearer b", jwt, "Bearer ==", "Bearer\tx"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, err := Token(header)
		if err != nil {
			var malformedErr *MalformedError
			if !errors.Is(err, ErrNoCredentials) && !errors.As(err, &malformedErr) {
				t.Fatalf("Token(%q) returned an undocumented error %T: %v", header, err, err)
			}
			if token != "" {
				t.Fatalf("Token(%q) returned token %q together with error %v", header, token, err)
			}
			return
		}
		if token == "" {
			t.Fatalf("Token(%q) returned an empty token without error", header)
		}
		if !strings.Contains(header, token) {
			t.Fatalf("Token(%q) = %q, which is not part of the header", header, token)
		}
		if err := validateToken68(token); err != nil {
			t.Fatalf("Token(%q) = %q, which is not token68: %v", header, token, err)
		}
	})
}
