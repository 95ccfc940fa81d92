// Package authz implements Envoy's external authorization service
// (envoy.service.auth.v3.Authorization) for gatepass access tokens. Each
// Check matches the request against the policy, extracts and verifies the
// bearer token through shared/verify, caches the outcome per token, and
// returns identity headers for the upstream or an RFC 6750 denial.
package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatepass/gatepass/extauthz/bearer"
	"github.com/gatepass/gatepass/extauthz/jwks"
	"github.com/gatepass/gatepass/extauthz/policy"
	"github.com/gatepass/gatepass/extauthz/tokencache"
	"github.com/gatepass/gatepass/shared/verify"
)

// PolicySource provides the policy in force. *policy.File implements it.
type PolicySource interface {
	Current() *policy.Policy
}

// Options configures a Server.
type Options struct {
	// Verification sets what the verifier checks in tokens that are not
	// cached.
	Verification verify.Config

	// Keys provides the verification keys. A cached token is accepted only
	// while Keys still returns the very key that verified it. A retired key
	// or keys past their maximum staleness deny cached tokens too, and a kid
	// that now names other key material makes the token verify again.
	Keys verify.KeySource

	// TokenCacheBytes bounds the memory of the verified-token cache; zero
	// means tokencache.DefaultMaxCost.
	TokenCacheBytes int64

	// Policy decides what each request needs.
	Policy PolicySource

	// Headers names the identity headers; the zero value means
	// DefaultHeaderNames.
	Headers HeaderNames

	// RemoveAuthorization removes the Authorization header from allowed
	// requests, so the token never reaches the upstream.
	RemoveAuthorization bool

	// Registerer receives the check metrics. Nil registers nothing.
	Registerer prometheus.Registerer

	// Logger receives denials at debug level and internal errors. Nil means
	// slog.Default.
	Logger *slog.Logger
}

// Server implements Envoy's Check call. It is safe for concurrent use.
type Server struct {
	authv3.UnimplementedAuthorizationServer

	verifier            *verify.Verifier
	keys                verify.KeySource
	tokens              *tokencache.Cache[*identity]
	policy              PolicySource
	headerNames         HeaderNames
	removeAuthorization bool
	logger              *slog.Logger
	metrics             *metrics

	// publicOK is the response to every public request.
	publicOK *authv3.OkHttpResponse
}

// New returns a Server for options.
func New(options Options) (*Server, error) {
	switch {
	case options.Keys == nil:
		return nil, errors.New("authz: a key source is required")
	case options.Policy == nil:
		return nil, errors.New("authz: a policy is required")
	}
	if options.Headers == (HeaderNames{}) {
		options.Headers = DefaultHeaderNames()
	}
	headers, err := options.Headers.normalize()
	if err != nil {
		return nil, fmt.Errorf("authz: %w", err)
	}
	if options.Logger == nil {
		options.Logger = slog.Default()
	}
	verifier, err := verify.New(options.Verification, recordingKeySource{source: options.Keys})
	if err != nil {
		return nil, fmt.Errorf("authz: creating the token verifier: %w", err)
	}
	metrics, err := newMetrics(options.Registerer)
	if err != nil {
		return nil, err
	}
	tokens, err := tokencache.New[*identity](tokencache.Options{MaxCost: options.TokenCacheBytes, Registerer: options.Registerer})
	if err != nil {
		return nil, err
	}

	s := &Server{
		verifier:            verifier,
		keys:                options.Keys,
		tokens:              tokens,
		policy:              options.Policy,
		headerNames:         headers,
		removeAuthorization: options.RemoveAuthorization,
		logger:              options.Logger,
		metrics:             metrics,
	}
	s.publicOK = s.okResponse([4]string{})
	return s, nil
}

// Close releases the token cache.
func (s *Server) Close() {
	s.tokens.Close()
}

// Check decides whether Envoy lets request through. It always returns a
// CheckResponse and a nil error: a failure inside the check, even a panic,
// becomes a 500 denial.
func (s *Server) Check(ctx context.Context, request *authv3.CheckRequest) (response *authv3.CheckResponse, err error) {
	start := time.Now()
	var d decision
	defer func() {
		if recovered := recover(); recovered != nil {
			s.logger.Error("check panicked, denying the request", "panic", recovered, "stack", string(debug.Stack()))
			d = internalError()
			response, err = s.response(d), nil
		}
		s.metrics.observe(d, time.Since(start))
	}()

	d = s.decide(ctx, request)
	if !d.allow {
		s.logger.Debug("denied a request", "reason", d.reason, "status", d.status, "rule", d.rule)
	}
	return s.response(d), nil
}

// decide applies the policy and, where the matching rule requires one,
// verifies the token.
func (s *Server) decide(ctx context.Context, request *authv3.CheckRequest) decision {
	httpRequest := request.GetAttributes().GetRequest().GetHttp()
	if httpRequest == nil {
		return badRequest(reasonBadRequest, "the check request has no HTTP request attributes")
	}
	method := httpRequest.GetMethod()
	if method == "" {
		return badRequest(reasonBadRequest, "the check request has no HTTP method")
	}
	path, err := policy.CanonicalPath(httpRequest.GetPath())
	if err != nil {
		return badRequest(reasonInvalidPath, "the request path is not in canonical form: "+err.Error())
	}

	current := s.policy.Current()
	rule := current.Match(method, httpRequest.GetHost(), path)
	switch rule.Access {
	case policy.AccessPublic:
		return allowPublic(rule.Name)
	case policy.AccessDeny:
		if rule == &current.Default {
			return forbidden(reasonNoRule, rule.Name, fmt.Sprintf("no policy rule allows %s %s", method, path))
		}
		return forbidden(reasonPolicyDenied, rule.Name, fmt.Sprintf("the policy denies %s %s", method, path))
	}

	header, err := authorizationHeader(httpRequest)
	if err != nil {
		return invalidRequest(rule.Name, err.Error())
	}
	token, err := bearer.Token(header)
	var malformed *bearer.MalformedError
	switch {
	case errors.Is(err, bearer.ErrNoCredentials):
		return missingToken(rule.Name)
	case errors.As(err, &malformed):
		return invalidRequest(rule.Name, "the Authorization header is malformed: "+malformed.Description)
	case err != nil:
		return invalidRequest(rule.Name, "the Authorization header is malformed")
	}

	identity, err := s.verify(ctx, token)
	if err != nil {
		return rejectedToken(rule.Name, verify.ReasonOf(err))
	}
	if !rule.Satisfied(identity.scopes) {
		return insufficientScope(rule.Name, rule.Describe(), rule.RequiredScopes().String())
	}
	return allowToken(rule.Name, identity)
}

// authorizationHeader returns the Authorization header of request. Envoy
// sends headers either in the headers map, with lower-case names and
// repeated headers joined by commas, or in header_map, where a repeated
// header appears twice and counts as several credentials.
func authorizationHeader(request *authv3.AttributeContext_HttpRequest) (string, error) {
	headerMap := request.GetHeaderMap()
	if headerMap == nil {
		return request.GetHeaders()["authorization"], nil
	}

	var value string
	found := 0
	for _, header := range headerMap.GetHeaders() {
		if !strings.EqualFold(header.GetKey(), "authorization") {
			continue
		}
		found++
		value = header.GetValue()
		if value == "" {
			value = string(header.GetRawValue())
		}
	}
	if found > 1 {
		return "", errors.New("the request carries several Authorization headers, send exactly one bearer token")
	}
	return value, nil
}

// verify returns the cached identity of token, or verifies the token and
// caches it until it expires. A cached token whose kid now names another
// key is verified again, against that key.
func (s *Server) verify(ctx context.Context, token string) (*identity, error) {
	cacheKey := tokencache.KeyOf(token)
	if cached, found := s.tokens.Get(cacheKey); found {
		current, err := s.keys.Key(ctx, cached.key.ID)
		if err != nil {
			return nil, keyError(cached.key.ID, err)
		}
		if jwks.SameKey(current, cached.key) {
			return cached, nil
		}
		s.logger.Debug("the key behind a cached token's kid changed, verifying the token again", "kid", cached.key.ID)
	}

	var record keyRecord
	accessToken, err := s.verifier.Verify(withKeyRecord(ctx, &record), token)
	if err != nil {
		return nil, err
	}
	verified, err := s.newIdentity(record.key, accessToken)
	if err != nil {
		return nil, err
	}
	s.tokens.Set(cacheKey, verified, accessToken.ExpiresAt.Time, verified.cost)
	return verified, nil
}

// keyError classifies a key lookup failure for a cached token the way the
// verifier would for a fresh one.
func keyError(kid string, err error) error {
	if errors.Is(err, verify.ErrKeyNotFound) {
		return &verify.Error{Reason: verify.ReasonUnknownKey, Err: fmt.Errorf("key %q is no longer published: %w", kid, err)}
	}
	return &verify.Error{Reason: verify.ReasonKeysUnavailable, Err: fmt.Errorf("looking up key %q: %w", kid, err)}
}
