package policy

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/shared/scope"
)

const samplePolicy = `# A policy that exercises every kind of rule.
default: deny
rules:
  - name: health
    path: /health
    methods: [GET, head]
    access: public
  - name: admin-blocked
    prefix: /admin
    access: deny
  - name: reports-read
    prefix: /reports
    methods: [GET]
    host: api.example.com
    access: scopes
    scopes:
      all_of: [reports:read]
  - name: reports-team
    prefix: /reports/
    access: scopes
    scopes:
      all_of: [reports:write]
      any_of: [team:a, team:b]
  - name: tenants
    prefix: /tenants/
    host: "*.example.com"
    access: authenticated
  - name: api
    prefix: /api/
    access: authenticated
`

func mustParse(t *testing.T, text string) *Policy {
	t.Helper()
	policy, err := Parse([]byte(text), "test.yaml")
	if err != nil {
		t.Fatalf("Parse failed: %v", err)
	}
	return policy
}

func TestPolicyMatch(t *testing.T) {
	policy := mustParse(t, samplePolicy)
	tests := []struct {
		name   string
		method string
		host   string
		path   string
		want   string
	}{
		{name: "exact path", method: "GET", host: "any", path: "/health", want: "health"},
		{name: "method normalized to upper case", method: "HEAD", host: "any", path: "/health", want: "health"},
		{name: "exact path ignores longer path", method: "GET", host: "any", path: "/health/x", want: "default"},
		{name: "exact path ignores other method", method: "POST", host: "any", path: "/health", want: "default"},
		{name: "prefix matches itself", method: "GET", host: "any", path: "/admin", want: "admin-blocked"},
		{name: "prefix matches below", method: "DELETE", host: "any", path: "/admin/users/1", want: "admin-blocked"},
		{name: "prefix respects segments", method: "GET", host: "any", path: "/administrator", want: "default"},
		{name: "host matches", method: "GET", host: "api.example.com", path: "/reports/1", want: "reports-read"},
		{name: "host ignores case and port", method: "GET", host: "API.Example.com:8443", path: "/reports/1", want: "reports-read"},
		{name: "other host falls through", method: "GET", host: "other.test", path: "/reports/1", want: "reports-team"},
		{name: "other method falls through", method: "POST", host: "api.example.com", path: "/reports/1", want: "reports-team"},
		{name: "slash prefix excludes bare path", method: "POST", host: "api.example.com", path: "/reports", want: "default"},
		{name: "wildcard host matches subdomain", method: "GET", host: "acme.example.com", path: "/tenants/1", want: "tenants"},
		{name: "wildcard host excludes apex", method: "GET", host: "example.com", path: "/tenants/1", want: "default"},
		{name: "IPv6 host with port", method: "GET", host: "[::1]:8080", path: "/api/x", want: "api"},
		{name: "host trailing dot", method: "GET", host: "api.example.com.", path: "/reports/1", want: "reports-read"},
		{name: "host trailing dot and port", method: "GET", host: "API.example.com.:443", path: "/reports/1", want: "reports-read"},
		{name: "wildcard host trailing dot", method: "GET", host: "A.EXAMPLE.com.", path: "/tenants/1", want: "tenants"},
		{name: "host two trailing dots", method: "GET", host: "api.example.com..", path: "/reports/1", want: "reports-team"},
		{name: "lower-case method", method: "get", host: "api.example.com", path: "/reports/1", want: "reports-read"},
		{name: "mixed-case method", method: "hEaD", host: "any", path: "/health", want: "health"},
		{name: "path case-sensitive", method: "GET", host: "any", path: "/ADMIN", want: "default"},
		{name: "unmatched", method: "GET", host: "any", path: "/elsewhere", want: "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.Match(tt.method, tt.host, tt.path); got.Name != tt.want {
				t.Errorf("Match(%s %s%s) = %q, want %q", tt.method, tt.host, tt.path, got.Name, tt.want)
			}
		})
	}
}

func TestPolicyRuleHostTrailingDot(t *testing.T) {
	policy := mustParse(t, "rules:\n  - name: admin\n    prefix: /\n    host: Admin.Example.com.\n    access: deny\n")
	tests := []struct {
		name string
		host string
		want string
	}{
		{name: "host without dot", host: "admin.example.com", want: "admin"},
		{name: "host with dot", host: "admin.example.com.", want: "admin"},
		{name: "other host", host: "example.com", want: "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := policy.Match("GET", tt.host, "/x").Name; got != tt.want {
				t.Errorf("Match(GET %s/x) = %q, want %q", tt.host, got, tt.want)
			}
		})
	}
}

func TestPolicyDefaults(t *testing.T) {
	tests := []struct {
		name string
		text string
		want Access
	}{
		{name: "absent default denies", text: "rules:\n  - path: /a\n    access: public\n", want: AccessDeny},
		{name: "explicit deny without rules", text: "default: deny", want: AccessDeny},
		{name: "public default", text: "default: public", want: AccessPublic},
		{name: "leading document marker", text: "---\ndefault: public\n", want: AccessPublic},
		{name: "authenticated default", text: "default: authenticated", want: AccessAuthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			policy := mustParse(t, tt.text)
			if got := policy.Match("GET", "h", "/x").Access; got != tt.want {
				t.Errorf("default access = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRuleSatisfied(t *testing.T) {
	policy := mustParse(t, samplePolicy)
	rules := map[string]*Rule{}
	for i := range policy.Rules {
		rules[policy.Rules[i].Name] = &policy.Rules[i]
	}
	tests := []struct {
		name string
		rule string
		held string
		want bool
	}{
		{name: "all-of held", rule: "reports-read", held: "reports:read other", want: true},
		{name: "all-of missing", rule: "reports-read", held: "reports:write", want: false},
		{name: "all-of and any-of held", rule: "reports-team", held: "reports:write team:b", want: true},
		{name: "any-of missing", rule: "reports-team", held: "reports:write", want: false},
		{name: "all-of missing with any-of", rule: "reports-team", held: "team:a", want: false},
		{name: "authenticated needs no scope", rule: "api", held: "", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			held, err := scope.Parse(tt.held)
			if err != nil {
				t.Fatal(err)
			}
			if got := rules[tt.rule].Satisfied(held); got != tt.want {
				t.Errorf("%s.Satisfied(%q) = %v, want %v", tt.rule, tt.held, got, tt.want)
			}
		})
	}

	if got := rules["reports-team"].RequiredScopes().String(); got != "reports:write team:a team:b" {
		t.Errorf("RequiredScopes() = %q, want all three scopes", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		wantLine   int
		wantReason string
	}{
		{name: "syntax error", text: "rules:\n  - path: /a\n    access: [public\n", wantLine: 3, wantReason: ""},
		{name: "unknown top-level field", text: "default: deny\nrulez: []\n", wantLine: 2, wantReason: "rulez"},
		{name: "unknown rule field", text: "rules:\n  - path: /a\n    access: public\n    methds: [GET]\n", wantLine: 4, wantReason: "methds"},
		{name: "bad default", text: "rules: []\ndefault: allow\n", wantLine: 2, wantReason: "default"},
		{name: "no path or prefix", text: "rules:\n  - access: public\n", wantLine: 2, wantReason: "path or prefix"},
		{name: "path and prefix", text: "rules:\n  - path: /a\n    prefix: /b\n    access: public\n", wantLine: 3, wantReason: "not both"},
		{name: "relative path", text: "rules:\n  - prefix: api\n    access: public\n", wantLine: 2, wantReason: "start with /"},
		{name: "dot segment in path", text: "rules:\n  - prefix: /a/../b\n    access: public\n", wantLine: 2, wantReason: "dot segment"},
		{name: "query in path", text: "rules:\n  - path: /a?b=c\n    access: public\n", wantLine: 2, wantReason: "query"},
		{name: "missing access", text: "rules:\n  - path: /a\n", wantLine: 2, wantReason: "access is missing"},
		{name: "unknown access", text: "rules:\n  - path: /a\n    access: allow\n", wantLine: 3, wantReason: "allow"},
		{name: "scopes without list", text: "rules:\n  - path: /a\n    access: scopes\n", wantLine: 3, wantReason: "no scopes"},
		{name: "scopes on public rule", text: "rules:\n  - path: /a\n    access: public\n    scopes:\n      all_of: [x]\n", wantLine: 4, wantReason: "access: scopes"},
		{name: "invalid scope token", text: "rules:\n  - path: /a\n    access: scopes\n    scopes:\n      all_of: ['a\"b']\n", wantLine: 4, wantReason: "all_of"},
		{name: "invalid method", text: "rules:\n  - path: /a\n    methods: [\"GE T\"]\n    access: public\n", wantLine: 3, wantReason: "method"},
		{name: "host with port", text: "rules:\n  - path: /a\n    host: a.test:80\n    access: public\n", wantLine: 3, wantReason: "host"},
		{name: "host with two trailing dots", text: "rules:\n  - path: /a\n    host: a.test..\n    access: public\n", wantLine: 3, wantReason: "host"},
		{name: "host with empty label", text: "rules:\n  - path: /a\n    host: a..test\n    access: public\n", wantLine: 3, wantReason: "host"},
		{name: "second rule reported", text: "rules:\n  - path: /a\n    access: public\n  - path: /b\n    access: nope\n", wantLine: 5, wantReason: "rule 2"},
		{name: "empty file", text: "", wantLine: 0, wantReason: "the file is empty"},
		{name: "whitespace only", text: "\n  \n", wantLine: 0, wantReason: "the file is empty"},
		{name: "comments only", text: "# rules come later\n", wantLine: 0, wantReason: "no rules and no default"},
		{name: "no rules and no default", text: "rules: []\n", wantLine: 0, wantReason: "no rules and no default"},
		{name: "second document", text: "rules: []\n---\ndefault: public\n", wantLine: 2, wantReason: "second YAML document"},
		{name: "trailing document separator", text: "default: deny\n---\n", wantLine: 2, wantReason: "second YAML document"},
		{name: "wildcard method", text: "rules:\n  - path: /a\n    methods: [\"*\"]\n    access: public\n", wantLine: 3, wantReason: "omit methods to match every method"},
		{name: "tag without value", text: "rules:\n  - path: /a\n    access: public\n    methods: !!str\n", wantLine: 0, wantReason: "YAML parser failed"},
		{name: "wrong type", text: "rules:\n  - path: /a\n    access: public\n    methods: GET\n", wantLine: 4, wantReason: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			policy, err := Parse([]byte(tt.text), "test.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded with %d rules, want an error", len(policy.Rules))
			}
			var policyErr *Error
			if !errors.As(err, &policyErr) {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if policyErr.Line != tt.wantLine {
				t.Errorf("line = %d, want %d (%v)", policyErr.Line, tt.wantLine, err)
			}
			if !strings.Contains(policyErr.Reason, tt.wantReason) {
				t.Errorf("reason %q does not mention %q", policyErr.Reason, tt.wantReason)
			}
			if !strings.HasPrefix(err.Error(), "policy test.yaml") {
				t.Errorf("message %q does not start with the source and line", err.Error())
			}
		})
	}
}

func TestCanonicalPath(t *testing.T) {
	tests := []struct {
		name    string
		target  string
		want    string
		wantErr bool
	}{
		{name: "plain", target: "/a/b", want: "/a/b"},
		{name: "root", target: "/", want: "/"},
		{name: "query removed", target: "/a?x=1&y=/../", want: "/a"},
		{name: "fragment removed", target: "/a#frag", want: "/a"},
		{name: "trailing slash kept", target: "/a/", want: "/a/"},
		{name: "encoded reserved allowed", target: "/a%20b%3F", want: "/a%20b%3F"},
		{name: "dots inside segment allowed", target: "/a..b/.c", want: "/a..b/.c"},
		{name: "empty", target: "", wantErr: true},
		{name: "relative", target: "a/b", wantErr: true},
		{name: "asterisk form", target: "*", wantErr: true},
		{name: "dot segment", target: "/a/./b", wantErr: true},
		{name: "dot-dot segment", target: "/a/../b", wantErr: true},
		{name: "trailing dot-dot", target: "/a/..", wantErr: true},
		{name: "double slash", target: "/a//b", wantErr: true},
		{name: "leading double slash", target: "//a", wantErr: true},
		{name: "backslash", target: `/a\b`, wantErr: true},
		{name: "encoded slash", target: "/a%2fb", wantErr: true},
		{name: "encoded backslash", target: "/a%5Cb", wantErr: true},
		{name: "encoded dot", target: "/a/%2e%2e/b", wantErr: true},
		{name: "encoded letter", target: "/%61dmin", wantErr: true},
		{name: "truncated encoding", target: "/a%2", wantErr: true},
		{name: "bad hex", target: "/a%zz", wantErr: true},
		{name: "space", target: "/a b", wantErr: true},
		{name: "control character", target: "/a\x00", wantErr: true},
		{name: "non-ASCII", target: "/é", wantErr: true},
		{name: "dot-dot with parameter", target: "/reports/..;/admin", wantErr: true},
		{name: "dot with parameter", target: "/x/.;/admin", wantErr: true},
		{name: "session parameter", target: "/admin;jsessionid=1", wantErr: true},
		{name: "parameter in last segment", target: "/a/b;", wantErr: true},
		{name: "encoded semicolon allowed", target: "/a%3Bb", want: "/a%3Bb"},
		{name: "semicolon in query allowed", target: "/a?x=1;y=2", want: "/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalPath(tt.target)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("CanonicalPath(%q) = %q, want an error", tt.target, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("CanonicalPath(%q) failed: %v", tt.target, err)
			}
			if got != tt.want {
				t.Errorf("CanonicalPath(%q) = %q, want %q", tt.target, got, tt.want)
			}
		})
	}
}

func TestFileReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("default: deny\nrules:\n  - path: /a\n    access: public\n")

	file, err := Open(path, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatalf("Open failed: %v", err)
	}
	before := file.Current()

	t.Run("bad reload keeps old policy", func(t *testing.T) {
		write("default: deny\nrules:\n  - path: /a\n    access: sometimes\n")
		if err := file.Reload(); err == nil {
			t.Fatal("Reload of an invalid file succeeded")
		}
		if file.Current() != before {
			t.Error("Current() changed after a failed reload")
		}
	})
	t.Run("empty reload keeps old policy", func(t *testing.T) {
		write("")
		if err := file.Reload(); err == nil {
			t.Fatal("Reload of an empty file succeeded")
		}
		if file.Current() != before {
			t.Error("Current() changed after reloading an empty file")
		}
	})
	t.Run("good reload replaces policy", func(t *testing.T) {
		write("default: public\n")
		if err := file.Reload(); err != nil {
			t.Fatalf("Reload failed: %v", err)
		}
		if got := file.Current().Default.Access; got != AccessPublic {
			t.Errorf("default access = %q after reload, want public", got)
		}
	})
	t.Run("missing file fails to open", func(t *testing.T) {
		if _, err := Open(filepath.Join(t.TempDir(), "absent.yaml"), nil, nil); err == nil {
			t.Error("Open of a missing file succeeded")
		}
	})
}

// FuzzParse checks that no input makes Parse panic, and that every failure
// is an *Error.
func FuzzParse(f *testing.F) {
	f.Add(samplePolicy)
	f.Add("default: public\n")
	f.Add("rules:\n  - path: /a\n    access: [")
	f.Fuzz(func(t *testing.T, text string) {
		_, err := Parse([]byte(text), "fuzz.yaml")
		var policyErr *Error
		if err != nil && !errors.As(err, &policyErr) {
			t.Fatalf("Parse(%q) returned %T: %v, want *Error", text, err, err)
		}
	})
}
