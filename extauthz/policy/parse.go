package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/gatepass/gatepass/shared/scope"
)

// MaxFileSize is the largest policy file accepted, in bytes.
const MaxFileSize = 1 << 20

// Error is a problem in a policy file, with the line it is on.
type Error struct {
	// Source names the file.
	Source string

	// Line is the 1-based line of the problem, or zero when it concerns the
	// whole file.
	Line int

	// Reason states what is wrong.
	Reason string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("policy %s: %s", e.Source, e.Reason)
	}
	return fmt.Sprintf("policy %s:%d: %s", e.Source, e.Line, e.Reason)
}

// document is the YAML layout of a policy file.
type document struct {
	Default string     `yaml:"default"`
	Rules   []ruleSpec `yaml:"rules"`
}

// ruleSpec is the YAML layout of one rule, with the lines it occupies.
type ruleSpec struct {
	ruleFields

	// line is the line the rule starts on, and fieldLines maps each field
	// name to its line.
	line       int
	fieldLines map[string]int
}

type ruleFields struct {
	Name    string      `yaml:"name"`
	Path    string      `yaml:"path"`
	Prefix  string      `yaml:"prefix"`
	Methods []string    `yaml:"methods"`
	Host    string      `yaml:"host"`
	Access  string      `yaml:"access"`
	Scopes  *scopesSpec `yaml:"scopes"`
}

type scopesSpec struct {
	AllOf []string `yaml:"all_of"`
	AnyOf []string `yaml:"any_of"`
}

// UnmarshalYAML decodes a rule and records the lines of the rule and of
// its fields.
func (r *ruleSpec) UnmarshalYAML(node ast.Node) error {
	r.line = node.GetToken().Position.Line
	r.fieldLines = map[string]int{}

	var fields []*ast.MappingValueNode
	switch mapping := node.(type) {
	case *ast.MappingNode:
		fields = mapping.Values
	case *ast.MappingValueNode:
		fields = []*ast.MappingValueNode{mapping}
	}
	for _, field := range fields {
		if key := field.Key; key != nil && key.GetToken() != nil {
			r.fieldLines[key.GetToken().Value] = key.GetToken().Position.Line
		}
	}
	return yaml.NodeToValue(node, &r.ruleFields, yaml.Strict())
}

// fieldError is a problem with one field of a rule.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.err.Error() }

func (e *fieldError) Unwrap() error { return e.err }

func inField(field string, err error) error {
	return &fieldError{field: field, err: err}
}

// lineOfError returns the line of the field err concerns, or the rule's
// first line.
func (r *ruleSpec) lineOfError(err error) int {
	var located *fieldError
	if errors.As(err, &located) {
		if line, found := r.fieldLines[located.field]; found {
			return line
		}
	}
	return r.line
}

// Load reads and parses the policy file at path.
func Load(path string) (*Policy, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening policy file: %w", err)
	}
	defer file.Close()

	data, err := io.ReadAll(io.LimitReader(file, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading policy file %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{Source: path, Reason: fmt.Sprintf("the file is larger than %d bytes", MaxFileSize)}
	}
	return Parse(data, path)
}

// Parse builds a Policy from YAML. Every failure is an *Error naming the
// line at fault. source names the document in errors. It rejects an empty
// file, a file with neither rules nor a default, and a file with more than
// one YAML document, because each is more likely a mistake or a
// half-written file than a policy.
func Parse(data []byte, source string) (*Policy, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{Source: source, Reason: "the file is empty: write the policy to another path and rename it into place, so a reload never reads a half-written file"}
	}
	doc, err := decode(data, source)
	if err != nil {
		return nil, err
	}
	if line, extra := secondDocument(data); extra {
		return nil, &Error{Source: source, Line: line, Reason: "a second YAML document starts here, but a policy file must contain exactly one: remove the --- separator and merge the documents"}
	}
	if doc.Default == "" && len(doc.Rules) == 0 {
		return nil, &Error{Source: source, Reason: "the file has no rules and no default: add rules, or write default: deny to deny every request on purpose"}
	}

	policy := &Policy{Source: source, Rules: make([]Rule, 0, len(doc.Rules))}

	defaultAccess := Access(strings.TrimSpace(doc.Default))
	switch defaultAccess {
	case "":
		defaultAccess = AccessDeny
	case AccessDeny, AccessPublic, AccessAuthenticated:
	default:
		return nil, &Error{Source: source, Line: lineOf(data, "$.default"), Reason: fmt.Sprintf(
			"default is %q, want deny, public or authenticated", doc.Default)}
	}
	policy.Default = Rule{Name: "default", Access: defaultAccess}

	for index, spec := range doc.Rules {
		rule, err := buildRule(index, spec)
		if err != nil {
			return nil, &Error{Source: source, Line: spec.lineOfError(err), Reason: fmt.Sprintf("rule %d: %v", index+1, err)}
		}
		policy.Rules = append(policy.Rules, rule)
	}
	return policy, nil
}

// decode unmarshals data strictly, so unknown fields are errors.
func decode(data []byte, source string) (doc document, err error) {
	// NOTE: go-yaml v1.19.2 panics on a tag without a value where a sequence
	// is expected, such as "methods: !!str". The panic becomes an error
	// without a line number.
	defer func() {
		if recovered := recover(); recovered != nil {
			err = &Error{Source: source, Reason: fmt.Sprintf("the YAML parser failed on this file (%v): look for a tag such as !!str without a value", recovered)}
		}
	}()
	if err := yaml.UnmarshalWithOptions(data, &doc, yaml.Strict()); err != nil {
		return document{}, yamlError(source, err)
	}
	return doc, nil
}

// yamlError turns a go-yaml error into an *Error with its line.
func yamlError(source string, err error) error {
	var located yaml.Error
	if errors.As(err, &located) {
		line := 0
		if token := located.GetToken(); token != nil && token.Position != nil {
			line = token.Position.Line
		}
		return &Error{Source: source, Line: line, Reason: located.GetMessage()}
	}
	return &Error{Source: source, Reason: err.Error()}
}

// secondDocument reports whether data holds more than one YAML document,
// even an empty one after a trailing "---", and the line where the second
// one starts.
func secondDocument(data []byte) (line int, found bool) {
	file, err := parser.ParseBytes(data, 0)
	if err != nil || len(file.Docs) < 2 {
		return 0, false
	}
	second := file.Docs[1]
	switch {
	case second.Start != nil && second.Start.Position != nil:
		return second.Start.Position.Line, true
	case second.Body != nil && second.Body.GetToken() != nil:
		return second.Body.GetToken().Position.Line, true
	}
	return 0, true
}

// lineOf returns the line of the node at a YAML path such as "$.default",
// or zero when it cannot be found.
func lineOf(data []byte, path string) int {
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return 0
	}
	yamlPath, err := yaml.PathString(path)
	if err != nil {
		return 0
	}
	node, err := yamlPath.FilterFile(file)
	if err != nil || node == nil || node.GetToken() == nil {
		return 0
	}
	return node.GetToken().Position.Line
}

// buildRule validates spec and converts it to a Rule.
func buildRule(index int, spec ruleSpec) (Rule, error) {
	rule := Rule{Name: spec.Name, Line: spec.line, Path: spec.Path, Prefix: spec.Prefix, Access: Access(spec.Access)}
	if rule.Name == "" {
		rule.Name = fmt.Sprintf("rule %d", index+1)
	}

	switch {
	case spec.Path == "" && spec.Prefix == "":
		return Rule{}, errors.New(`set either path or prefix, for example prefix: "/"`)
	case spec.Path != "" && spec.Prefix != "":
		return Rule{}, inField("prefix", errors.New("set path or prefix, not both"))
	}
	for field, pattern := range map[string]string{"path": spec.Path, "prefix": spec.Prefix} {
		if pattern == "" {
			continue
		}
		if _, err := CanonicalPath(pattern); err != nil {
			return Rule{}, inField(field, fmt.Errorf("%s %q: %w", field, pattern, err))
		}
		if strings.ContainsAny(pattern, "?#") {
			return Rule{}, inField(field, fmt.Errorf("%s %q must not contain a query or fragment", field, pattern))
		}
	}

	for _, method := range spec.Methods {
		if method == "*" {
			return Rule{}, inField("methods", errors.New(`method "*" is not a wildcard: omit methods to match every method`))
		}
		if method == "" || !isHTTPToken(method) {
			return Rule{}, inField("methods", fmt.Errorf("method %q is not a valid HTTP method name", method))
		}
		rule.Methods = append(rule.Methods, strings.ToUpper(method))
	}

	if spec.Host != "" {
		// Requests are matched without one trailing dot, so the rule drops it
		// too: "admin.example.com." and admin.example.com are the same host.
		host := strings.TrimSuffix(strings.ToLower(spec.Host), ".")
		bare := strings.TrimPrefix(host, "*.")
		if bare == "" || strings.ContainsAny(bare, "*:/ ") || strings.HasPrefix(bare, ".") || strings.HasSuffix(bare, ".") || strings.Contains(bare, "..") {
			return Rule{}, inField("host", fmt.Errorf(`host %q must be a host name without port, optionally starting with "*."`, spec.Host))
		}
		rule.Host = host
	}

	if err := buildAccess(&rule, spec.Scopes); err != nil {
		return Rule{}, err
	}
	return rule, nil
}

func buildAccess(rule *Rule, scopes *scopesSpec) error {
	switch rule.Access {
	case AccessDeny, AccessPublic, AccessAuthenticated:
		if scopes != nil {
			return inField("scopes", fmt.Errorf("scopes are set but access is %s: use access: scopes", rule.Access))
		}
		return nil
	case AccessScopes:
	case "":
		return errors.New("access is missing: set deny, public, authenticated or scopes")
	default:
		return inField("access", fmt.Errorf("access is %q, want deny, public, authenticated or scopes", rule.Access))
	}

	if scopes == nil || len(scopes.AllOf)+len(scopes.AnyOf) == 0 {
		return inField("access", errors.New("access is scopes but no scopes are listed: set scopes.all_of, scopes.any_of or both"))
	}
	var err error
	if rule.AllOf, err = scopeSet("all_of", scopes.AllOf); err != nil {
		return inField("scopes", err)
	}
	if rule.AnyOf, err = scopeSet("any_of", scopes.AnyOf); err != nil {
		return inField("scopes", err)
	}
	return nil
}

func scopeSet(field string, tokens []string) (scope.Set, error) {
	for _, token := range tokens {
		if err := scope.ValidateToken(token); err != nil {
			return nil, fmt.Errorf("scopes.%s: %w", field, err)
		}
	}
	set, err := scope.FromList(tokens)
	if err != nil {
		return nil, fmt.Errorf("scopes.%s: %w", field, err)
	}
	return set, nil
}

// isHTTPToken reports whether s is an RFC 9110 token, the syntax of method
// names.
func isHTTPToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
