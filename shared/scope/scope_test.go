package scope

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    string
		wantErr bool
	}{
		{name: "empty", input: "", want: ""},
		{name: "single", input: "read", want: "read"},
		{name: "sorted and deduplicated", input: "write read write", want: "read write"},
		{name: "repeated spaces", input: "  read   write ", want: "read write"},
		{name: "punctuation allowed", input: "credentials:write analytics.* a!b", want: "a!b analytics.* credentials:write"},
		{name: "double quote rejected", input: `re"ad`, wantErr: true},
		{name: "backslash rejected", input: `re\ad`, wantErr: true},
		{name: "tab rejected", input: "read\twrite", wantErr: true},
		{name: "non-ASCII rejected", input: "lecture·écriture", wantErr: true},
		{name: "control character rejected", input: "read\x00", wantErr: true},
		{name: "overlong token rejected", input: strings.Repeat("a", MaxTokenLength+1), wantErr: true},
		{name: "longest token accepted", input: strings.Repeat("a", MaxTokenLength), want: strings.Repeat("a", MaxTokenLength)},
		{name: "too many tokens rejected", input: manyTokens(MaxTokens + 1), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.input)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Parse(%q) = %q, want an error", tt.input, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) failed: %v", tt.input, err)
			}
			if got.String() != tt.want {
				t.Errorf("Parse(%q) = %q, want %q", tt.input, got, tt.want)
			}
		})
	}
}

func manyTokens(n int) string {
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = "s" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	return strings.Join(tokens, " ")
}

func TestSetOperations(t *testing.T) {
	held, _ := Parse("read write offline_access")
	tests := []struct {
		name         string
		want         string
		wantContains bool
		wantAny      bool
		wantMissing  string
	}{
		{name: "subset", want: "read write", wantContains: true, wantAny: true},
		{name: "empty want", want: "", wantContains: true, wantAny: false},
		{name: "partly held", want: "read admin", wantContains: false, wantAny: true, wantMissing: "admin"},
		{name: "none held", want: "admin root", wantContains: false, wantAny: false, wantMissing: "admin root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := Parse(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if got := held.Contains(want); got != tt.wantContains {
				t.Errorf("Contains(%q) = %v, want %v", tt.want, got, tt.wantContains)
			}
			if got := held.HasAny(want); got != tt.wantAny {
				t.Errorf("HasAny(%q) = %v, want %v", tt.want, got, tt.wantAny)
			}
			if got := held.Missing(want).String(); got != tt.wantMissing {
				t.Errorf("Missing(%q) = %q, want %q", tt.want, got, tt.wantMissing)
			}
		})
	}
}
