// Package policy decides what each request needs before the sidecar lets it
// through. A policy is an ordered list of rules read from YAML. The first
// rule whose path, methods and host match a request decides. Requests that
// no rule matches get the policy's default, which is deny unless the file
// sets another.
//
// A policy file looks like this:
//
//	default: deny              # deny, public or authenticated
//	rules:
//	  - name: health
//	    path: /health          # exact path
//	    methods: [GET, HEAD]   # any method when absent
//	    access: public
//	  - name: reports
//	    prefix: /reports       # /reports and everything under /reports/
//	    host: api.example.com  # any host when absent; "*.example.com" matches subdomains
//	    access: scopes
//	    scopes:
//	      all_of: [reports:read]
//	      any_of: [team:a, team:b]
//	  - prefix: /
//	    access: authenticated
package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatepass/gatepass/shared/scope"
)

// Access is the requirement a rule places on a request.
type Access string

// Kinds of access a rule can grant.
const (
	// AccessDeny rejects every request the rule matches.
	AccessDeny Access = "deny"

	// AccessPublic lets requests through without a token.
	AccessPublic Access = "public"

	// AccessAuthenticated needs any valid token.
	AccessAuthenticated Access = "authenticated"

	// AccessScopes needs a valid token that carries the rule's scopes.
	AccessScopes Access = "scopes"
)

// Rule is one entry of a policy.
type Rule struct {
	// Name identifies the rule in logs and denial details. It defaults to
	// "rule N" with the rule's position, counted from 1.
	Name string

	// Line is the line of the policy file where the rule starts, zero for
	// the default rule.
	Line int

	// Path, when set, must equal the request path.
	Path string

	// Prefix, when set, must be a path-segment prefix of the request path:
	// "/a" matches "/a" and "/a/b" but not "/ab", and "/a/" matches
	// everything under "/a/".
	Prefix string

	// Methods lists the HTTP methods the rule matches, in upper case. Empty
	// matches all. Request methods are upper-cased before they are compared.
	Methods []string

	// Host, when set, must equal the request host without its port and one
	// trailing dot, ignoring case. A leading "*." matches any subdomain, but
	// not the domain itself.
	Host string

	// Access is the rule's requirement.
	Access Access

	// AllOf lists scopes a token must all carry, for AccessScopes.
	AllOf scope.Set

	// AnyOf lists scopes a token must carry at least one of, for
	// AccessScopes.
	AnyOf scope.Set
}

// Policy is an ordered list of rules with a default for requests that no
// rule matches. It is immutable once built.
type Policy struct {
	// Source names where the policy was read from.
	Source string

	// Rules are tried in order.
	Rules []Rule

	// Default applies when no rule matches.
	Default Rule
}

// Match returns the first rule that matches the request, or the default
// rule. path must already be a canonical path, as CanonicalPath returns, and
// is compared case-sensitively. method and host are compared
// case-insensitively, because an upstream may treat "delete" as DELETE and
// "Admin.example.com." as admin.example.com.
func (p *Policy) Match(method, host, path string) *Rule {
	method = strings.ToUpper(method)
	host = normalizeHost(host)
	for i := range p.Rules {
		if p.Rules[i].matches(method, host, path) {
			return &p.Rules[i]
		}
	}
	return &p.Default
}

func (r *Rule) matches(method, host, path string) bool {
	switch {
	case r.Path != "" && path != r.Path:
		return false
	case r.Prefix != "" && !hasSegmentPrefix(path, r.Prefix):
		return false
	case len(r.Methods) > 0 && !slices.Contains(r.Methods, method):
		return false
	case r.Host != "" && !hostMatches(r.Host, host):
		return false
	}
	return true
}

func hasSegmentPrefix(path, prefix string) bool {
	if !strings.HasPrefix(path, prefix) {
		return false
	}
	return len(path) == len(prefix) || strings.HasSuffix(prefix, "/") || path[len(prefix)] == '/'
}

func hostMatches(pattern, host string) bool {
	if suffix, wildcard := strings.CutPrefix(pattern, "*"); wildcard {
		return strings.HasSuffix(host, suffix) && len(host) > len(suffix)
	}
	return host == pattern
}

// normalizeHost lower-cases host and strips its port and one trailing dot,
// so the absolute DNS form "admin.example.com." matches admin.example.com.
func normalizeHost(host string) string {
	host = strings.ToLower(host)
	if strings.HasPrefix(host, "[") {
		// An IPv6 literal such as [::1]:8080.
		if end := strings.IndexByte(host, ']'); end >= 0 {
			return host[:end+1]
		}
		return host
	}
	if colon := strings.LastIndexByte(host, ':'); colon >= 0 {
		host = host[:colon]
	}
	return strings.TrimSuffix(host, ".")
}

// Satisfied reports whether a token carrying held meets the rule's scope
// requirement. Rules whose Access is not AccessScopes are always satisfied.
func (r *Rule) Satisfied(held scope.Set) bool {
	if r.Access != AccessScopes {
		return true
	}
	if !held.Contains(r.AllOf) {
		return false
	}
	return len(r.AnyOf) == 0 || held.HasAny(r.AnyOf)
}

// RequiredScopes returns the scopes to name in an insufficient_scope
// challenge: all of AllOf and, when AnyOf is set, its alternatives too.
func (r *Rule) RequiredScopes() scope.Set {
	required := slices.Concat(r.AllOf, r.AnyOf)
	slices.Sort(required)
	return slices.Compact(required)
}

// Describe returns the rule's requirement in words, for denial details.
func (r *Rule) Describe() string {
	switch r.Access {
	case AccessScopes:
		var parts []string
		if len(r.AllOf) > 0 {
			parts = append(parts, fmt.Sprintf("all of the scopes %q", r.AllOf.String()))
		}
		if len(r.AnyOf) > 0 {
			parts = append(parts, fmt.Sprintf("at least one of the scopes %q", r.AnyOf.String()))
		}
		return strings.Join(parts, " and ")
	case AccessAuthenticated:
		return "a valid access token"
	case AccessPublic:
		return "nothing"
	default:
		return "a request this policy does not deny"
	}
}
