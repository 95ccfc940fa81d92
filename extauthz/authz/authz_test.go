package authz

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gatepass/gatepass/extauthz/internal/fakeclock"
	"github.com/gatepass/gatepass/extauthz/internal/testissuer"
	"github.com/gatepass/gatepass/extauthz/jwks"
	"github.com/gatepass/gatepass/extauthz/policy"
	"github.com/gatepass/gatepass/extauthz/tokencache"
	"github.com/gatepass/gatepass/shared/claims"
	"github.com/gatepass/gatepass/shared/verify"
)

const testPolicy = `
default: deny
rules:
  - name: health
    path: /health
    access: public
  - name: blocked
    prefix: /blocked
    access: deny
  - name: reports
    prefix: /reports
    access: scopes
    scopes:
      all_of: [reports:read]
  - name: api
    prefix: /api
    access: authenticated
`

// staticPolicy is a PolicySource over a fixed policy.
type staticPolicy struct{ policy *policy.Policy }

func (s staticPolicy) Current() *policy.Policy { return s.policy }

// panickingPolicy makes Check fail from inside.
type panickingPolicy struct{}

func (panickingPolicy) Current() *policy.Policy { panic("policy store broke") }

type fixture struct {
	issuer *testissuer.Server
	es256  *testissuer.Key
	rs256  *testissuer.Key
	keys   *jwks.Cache
	clock  *fakeclock.Clock
	server *Server
	client authv3.AuthorizationClient
}

type fixtureOptions struct {
	policy              PolicySource
	removeAuthorization bool
	issuerDown          bool
}

func newFixture(t testing.TB, options fixtureOptions) *fixture {
	t.Helper()
	es256, err := testissuer.NewKey("es-1", "ES256")
	if err != nil {
		t.Fatal(err)
	}
	rs256, err := testissuer.NewKey("rs-1", "RS256")
	if err != nil {
		t.Fatal(err)
	}
	issuer := testissuer.NewServer(es256, rs256)
	t.Cleanup(issuer.Close)
	issuer.SetDown(options.issuerDown)

	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := fakeclock.New()
	keys, err := jwks.New(jwks.Options{IssuerURL: issuer.URL(), Logger: logger, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(keys.Close)
	policySource := options.policy
	if policySource == nil {
		parsed, err := policy.Parse([]byte(testPolicy), "test")
		if err != nil {
			t.Fatal(err)
		}
		policySource = staticPolicy{parsed}
	}
	server, err := New(Options{
		Verification:        verify.Config{Issuer: issuer.URL(), Audience: testissuer.Audience},
		Keys:                keys,
		TokenCacheBytes:     1 << 20,
		Policy:              policySource,
		RemoveAuthorization: options.removeAuthorization,
		Logger:              logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.Close)

	return &fixture{
		issuer: issuer, es256: es256, rs256: rs256, keys: keys,
		clock: clock, server: server, client: serveGRPC(t, server),
	}
}

// serveGRPC serves server on a loopback port and returns a client for it.
func serveGRPC(t testing.TB, server authv3.AuthorizationServer) authv3.AuthorizationClient {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	grpcServer := grpc.NewServer()
	authv3.RegisterAuthorizationServer(grpcServer, server)
	go func() { _ = grpcServer.Serve(listener) }()
	t.Cleanup(grpcServer.Stop)

	conn, err := grpc.NewClient(listener.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

func (f *fixture) sign(t testing.TB, key *testissuer.Key, edit func(*claims.AccessToken)) string {
	t.Helper()
	c := f.issuer.Claims("svc-a", "reports:read", "other")
	if edit != nil {
		edit(&c)
	}
	token, err := key.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// rawToken builds a compact JWS from a JSON header and payload with a fake
// signature, for tokens golang-jwt refuses to produce.
func rawToken(t testing.TB, header, payload any) string {
	t.Helper()
	encode := func(v any) string {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(data)
	}
	return encode(header) + "." + encode(payload) + "." + base64.RawURLEncoding.EncodeToString([]byte("signature"))
}

func checkRequest(method, path string, headers map[string]string) *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: method, Path: path, Host: "api.test", Headers: headers},
	}}}
}

func bearerRequest(path, authorization string) *authv3.CheckRequest {
	return checkRequest(http.MethodGet, path, map[string]string{"authorization": authorization})
}

// outcome is the part of a CheckResponse the tests compare.
type outcome struct {
	code            codes.Code
	status          int
	wwwAuthenticate string
	detail          string
	setHeaders      map[string]string
	removedHeaders  []string
}

func (f *fixture) check(t testing.TB, request *authv3.CheckRequest) outcome {
	t.Helper()
	response, err := f.client.Check(context.Background(), request)
	if err != nil {
		t.Fatalf("Check failed: %v", err)
	}
	return outcomeOf(t, response)
}

func outcomeOf(t testing.TB, response *authv3.CheckResponse) outcome {
	t.Helper()
	result := outcome{code: codes.Code(response.GetStatus().GetCode()), setHeaders: map[string]string{}}
	if ok := response.GetOkResponse(); ok != nil {
		for _, header := range ok.GetHeaders() {
			if header.GetAppendAction() != corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD {
				t.Errorf("header %s uses append action %v, want OVERWRITE_IF_EXISTS_OR_ADD", header.GetHeader().GetKey(), header.GetAppendAction())
			}
			result.setHeaders[header.GetHeader().GetKey()] = header.GetHeader().GetValue()
		}
		result.removedHeaders = ok.GetHeadersToRemove()
		return result
	}

	denied := response.GetDeniedResponse()
	if denied == nil {
		t.Fatalf("response %v is neither OK nor denied", response)
	}
	result.status = int(denied.GetStatus().GetCode())
	for _, header := range denied.GetHeaders() {
		if header.GetHeader().GetKey() == "www-authenticate" {
			result.wwwAuthenticate = header.GetHeader().GetValue()
		}
	}
	var body struct {
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal([]byte(denied.GetBody()), &body); err != nil || body.Detail == "" {
		t.Errorf("denial body %q is not {\"detail\": ...}: %v", denied.GetBody(), err)
	}
	result.detail = body.Detail
	return result
}

func TestCheckDecisions(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	valid := f.sign(t, f.es256, nil)
	parts := strings.Split(valid, ".")
	now := time.Now()
	validPayload := f.issuer.Claims("svc-a", "reports:read")

	tests := []struct {
		name            string
		request         *authv3.CheckRequest
		wantStatus      int
		wantChallenge   string
		wantDetailMatch string
	}{
		{name: "valid token", request: bearerRequest("/api/x", "Bearer "+valid)},
		{name: "lower-case scheme", request: bearerRequest("/api/x", "bearer "+valid)},
		{name: "several spaces after scheme", request: bearerRequest("/api/x", "Bearer   "+valid)},
		{name: "RS256 token", request: bearerRequest("/api/x", "Bearer "+f.sign(t, f.rs256, nil))},
		{name: "scope rule satisfied", request: bearerRequest("/reports/1", "Bearer "+valid)},
		{name: "query ignored for matching", request: bearerRequest("/reports/1?x=/admin", "Bearer "+valid)},
		{name: "public without token", request: checkRequest("GET", "/health", nil)},
		{name: "public with garbage token", request: bearerRequest("/health", "Bearer !!")},

		{name: "unmatched path", request: bearerRequest("/other", "Bearer "+valid), wantStatus: 403, wantDetailMatch: "no policy rule"},
		{name: "deny rule", request: bearerRequest("/blocked/x", "Bearer "+valid), wantStatus: 403, wantDetailMatch: "denies"},

		{name: "no authorization header", request: checkRequest("GET", "/api/x", nil), wantStatus: 401, wantChallenge: "Bearer"},
		{name: "empty authorization header", request: bearerRequest("/api/x", ""), wantStatus: 401, wantChallenge: "Bearer"},
		{name: "basic scheme", request: bearerRequest("/api/x", "Basic dXNlcjpwYXNz"), wantStatus: 401, wantChallenge: "Bearer"},
		{name: "no scheme", request: bearerRequest("/api/x", valid), wantStatus: 400, wantChallenge: `Bearer error="invalid_request"`},
		{name: "scheme without token", request: bearerRequest("/api/x", "Bearer"), wantStatus: 400, wantChallenge: `Bearer error="invalid_request"`},
		{name: "two tokens", request: bearerRequest("/api/x", "Bearer "+valid+" "+valid), wantStatus: 400, wantChallenge: `Bearer error="invalid_request"`},
		{name: "two headers joined", request: bearerRequest("/api/x", "Bearer "+valid+",Bearer "+valid), wantStatus: 400, wantChallenge: `Bearer error="invalid_request"`},
		{name: "non-token68 characters", request: bearerRequest("/api/x", `Bearer a"b`), wantStatus: 400, wantChallenge: `Bearer error="invalid_request"`},
		{name: "huge header", request: bearerRequest("/api/x", "Bearer "+strings.Repeat("a", 64<<10)), wantStatus: 400, wantChallenge: `Bearer error="invalid_request"`},

		{name: "bad base64", request: bearerRequest("/api/x", "Bearer "+parts[0]+".!!!."+parts[2]), wantStatus: 400, wantChallenge: `Bearer error="invalid_request"`},
		{name: "bad base64 in token68", request: bearerRequest("/api/x", "Bearer "+parts[0]+".e30~."+parts[2]), wantStatus: 401, wantChallenge: `Bearer error="invalid_token"`},
		{name: "two segments", request: bearerRequest("/api/x", "Bearer "+parts[0]+"."+parts[1]), wantStatus: 401, wantChallenge: `Bearer error="invalid_token"`},
		{name: "four segments", request: bearerRequest("/api/x", "Bearer "+valid+".x"), wantStatus: 401, wantChallenge: `Bearer error="invalid_token"`},
		{name: "alg none", request: bearerRequest("/api/x", "Bearer "+rawToken(t, map[string]string{"alg": "none", "typ": "at+jwt", "kid": "es-1"}, validPayload)), wantStatus: 401, wantChallenge: `Bearer error="invalid_token"`},
		{name: "HS256 with public key id", request: bearerRequest("/api/x", "Bearer "+rawToken(t, map[string]string{"alg": "HS256", "typ": "at+jwt", "kid": "es-1"}, validPayload)), wantStatus: 401, wantChallenge: `Bearer error="invalid_token"`},
		{name: "algorithm differs from key", request: bearerRequest("/api/x", "Bearer "+signWithKID(t, f, f.rs256, "es-1")), wantStatus: 401, wantDetailMatch: "algorithm"},
		{name: "unknown kid", request: bearerRequest("/api/x", "Bearer "+signWithKID(t, f, f.es256, "nope")), wantStatus: 401, wantDetailMatch: "key the issuer does not publish"},
		{name: "tampered payload", request: bearerRequest("/api/x", "Bearer "+parts[0]+"."+base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin"}`))+"."+parts[2]), wantStatus: 401, wantDetailMatch: "signature"},
		{name: "expired", request: bearerRequest("/api/x", "Bearer "+f.sign(t, f.es256, func(c *claims.AccessToken) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)) })), wantStatus: 401, wantDetailMatch: "expired"},
		{name: "not yet valid", request: bearerRequest("/api/x", "Bearer "+f.sign(t, f.es256, func(c *claims.AccessToken) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) })), wantStatus: 401, wantDetailMatch: "not valid yet"},
		{name: "wrong audience", request: bearerRequest("/api/x", "Bearer "+f.sign(t, f.es256, func(c *claims.AccessToken) { c.Audience = jwt.ClaimStrings{"https://other.test"} })), wantStatus: 401, wantDetailMatch: "audience"},
		{name: "wrong issuer", request: bearerRequest("/api/x", "Bearer "+f.sign(t, f.es256, func(c *claims.AccessToken) { c.Issuer = "https://evil.test" })), wantStatus: 401, wantDetailMatch: "issuer"},
		{name: "control character in subject", request: bearerRequest("/api/x", "Bearer "+f.sign(t, f.es256, func(c *claims.AccessToken) { c.Subject = "svc\r\nx-auth-subject: admin" })), wantStatus: 401, wantDetailMatch: "claims"},

		{name: "insufficient scope", request: bearerRequest("/reports/1", "Bearer "+f.sign(t, f.es256, func(c *claims.AccessToken) { c.Scope = claims.ScopeClaim{"other"} })), wantStatus: 403, wantChallenge: `Bearer error="insufficient_scope", error_description=`},

		{name: "no attributes", request: &authv3.CheckRequest{}, wantStatus: 400, wantDetailMatch: "no HTTP request attributes"},
		{name: "no HTTP attributes", request: &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{}}}, wantStatus: 400, wantDetailMatch: "no HTTP request attributes"},
		{name: "no method", request: checkRequest("", "/api/x", nil), wantStatus: 400, wantDetailMatch: "no HTTP method"},
		{name: "no path", request: checkRequest("GET", "", nil), wantStatus: 400, wantDetailMatch: "canonical"},
		{name: "dot segment path", request: bearerRequest("/health/../api/x", "Bearer "+valid), wantStatus: 400, wantDetailMatch: "canonical"},
		{name: "encoded slash path", request: bearerRequest("/health%2F..%2Fapi", "Bearer "+valid), wantStatus: 400, wantDetailMatch: "canonical"},
		{name: "dot-dot parameter path", request: bearerRequest("/reports/..;/blocked", "Bearer "+valid), wantStatus: 400, wantDetailMatch: "';'"},
		{name: "dot parameter path", request: bearerRequest("/api/.;/blocked", "Bearer "+valid), wantStatus: 400, wantDetailMatch: "';'"},
		{name: "session parameter path", request: bearerRequest("/blocked;jsessionid=1", "Bearer "+valid), wantStatus: 400, wantDetailMatch: "';'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.check(t, tt.request)
			if tt.wantStatus == 0 {
				if got.code != codes.OK {
					t.Fatalf("check denied with %d %q, want allow", got.status, got.detail)
				}
				return
			}
			if got.code == codes.OK {
				t.Fatalf("check allowed, want %d", tt.wantStatus)
			}
			if got.status != tt.wantStatus {
				t.Errorf("status = %d (%s), want %d", got.status, got.detail, tt.wantStatus)
			}
			if got.code != grpcCode(tt.wantStatus) {
				t.Errorf("gRPC code = %v, want %v", got.code, grpcCode(tt.wantStatus))
			}
			if !strings.HasPrefix(got.wwwAuthenticate, tt.wantChallenge) || (tt.wantChallenge == "" && got.status != 401 && got.wwwAuthenticate != "") {
				t.Errorf("WWW-Authenticate = %q, want it to start with %q", got.wwwAuthenticate, tt.wantChallenge)
			}
			if !strings.Contains(got.detail, tt.wantDetailMatch) {
				t.Errorf("detail = %q, want it to mention %q", got.detail, tt.wantDetailMatch)
			}
		})
	}
}

// signWithKID signs valid claims with key but names kid in the header.
func signWithKID(t testing.TB, f *fixture, key *testissuer.Key, kid string) string {
	t.Helper()
	renamed := *key
	renamed.ID = kid
	return f.sign(t, &renamed, nil)
}

func TestCheckChallengeFormat(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	token := f.sign(t, f.es256, func(c *claims.AccessToken) { c.Scope = claims.ScopeClaim{"other"} })

	got := f.check(t, bearerRequest("/reports/1", "Bearer "+token))
	want := `Bearer error="insufficient_scope", error_description="the access token lacks the scopes this request needs: all of the scopes 'reports:read'", scope="reports:read"`
	if got.wwwAuthenticate != want {
		t.Errorf("WWW-Authenticate =\n%s\nwant\n%s", got.wwwAuthenticate, want)
	}

	expired := f.sign(t, f.es256, func(c *claims.AccessToken) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour)) })
	got = f.check(t, bearerRequest("/api/x", "Bearer "+expired))
	want = `Bearer error="invalid_token", error_description="the access token expired"`
	if got.wwwAuthenticate != want {
		t.Errorf("WWW-Authenticate = %q, want %q", got.wwwAuthenticate, want)
	}
}

func TestCheckIdentityHeaders(t *testing.T) {
	names := DefaultHeaderNames().list()
	tests := []struct {
		name                string
		removeAuthorization bool
		request             func(f *fixture) *authv3.CheckRequest
		wantSet             map[string]string
		wantRemoved         []string
	}{
		{
			name: "all claims present",
			request: func(f *fixture) *authv3.CheckRequest {
				return checkRequest("GET", "/api/x", map[string]string{
					"authorization":  "Bearer " + f.sign(t, f.es256, nil),
					"x-auth-subject": "admin",
				})
			},
			wantSet: map[string]string{"x-auth-subject": "svc-a", "x-auth-client-id": "svc-a", "x-auth-scopes": "other reports:read", "x-auth-credential-id": "cred-svc-a"},
		},
		{
			name: "missing claims removed",
			request: func(f *fixture) *authv3.CheckRequest {
				return bearerRequest("/api/x", "Bearer "+f.sign(t, f.es256, func(c *claims.AccessToken) {
					c.CredentialID = ""
					c.Scope = nil
				}))
			},
			wantSet:     map[string]string{"x-auth-subject": "svc-a", "x-auth-client-id": "svc-a"},
			wantRemoved: []string{"x-auth-scopes", "x-auth-credential-id"},
		},
		{
			name: "scopes from JSON arrays",
			request: func(f *fixture) *authv3.CheckRequest {
				token := f.sign(t, f.es256, func(c *claims.AccessToken) {
					c.Scope = claims.ScopeClaim{"b"}
					c.SCP = claims.ScopeClaim{"reports:read", "a"}
				})
				return bearerRequest("/reports/1", "Bearer "+token)
			},
			wantSet: map[string]string{"x-auth-subject": "svc-a", "x-auth-client-id": "svc-a", "x-auth-scopes": "a b reports:read", "x-auth-credential-id": "cred-svc-a"},
		},
		{
			name: "public request strips identity",
			request: func(*fixture) *authv3.CheckRequest {
				return checkRequest("GET", "/health", map[string]string{"x-auth-subject": "admin"})
			},
			wantSet: map[string]string{}, wantRemoved: names,
		},
		{
			name:                "authorization removed on request",
			removeAuthorization: true,
			request: func(f *fixture) *authv3.CheckRequest {
				return bearerRequest("/api/x", "Bearer "+f.sign(t, f.es256, nil))
			},
			wantSet:     map[string]string{"x-auth-subject": "svc-a", "x-auth-client-id": "svc-a", "x-auth-scopes": "other reports:read", "x-auth-credential-id": "cred-svc-a"},
			wantRemoved: []string{"authorization"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{removeAuthorization: tt.removeAuthorization})
			got := f.check(t, tt.request(f))
			if got.code != codes.OK {
				t.Fatalf("check denied with %d %q, want allow", got.status, got.detail)
			}
			for name, value := range tt.wantSet {
				if got.setHeaders[name] != value {
					t.Errorf("header %s = %q, want %q", name, got.setHeaders[name], value)
				}
			}
			if len(got.setHeaders) != len(tt.wantSet) {
				t.Errorf("set headers %v, want exactly %v", got.setHeaders, tt.wantSet)
			}
			if !slices.Equal(got.removedHeaders, tt.wantRemoved) {
				t.Errorf("removed headers %v, want %v", got.removedHeaders, tt.wantRemoved)
			}
			for _, removed := range got.removedHeaders {
				if _, set := got.setHeaders[removed]; set {
					t.Errorf("header %s is both set and removed", removed)
				}
			}
		})
	}
}

func TestCheckHeaderMap(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	token := f.sign(t, f.es256, nil)
	// withHeaderMap sends values as Authorization headers in header_map,
	// in raw_value when raw is set, as Envoy does with encode_raw_headers.
	withHeaderMap := func(raw bool, values ...string) *authv3.CheckRequest {
		request := checkRequest("GET", "/api/x", nil)
		headerMap := &corev3.HeaderMap{}
		for _, value := range values {
			header := &corev3.HeaderValue{Key: "authorization", Value: value}
			if raw {
				header = &corev3.HeaderValue{Key: "authorization", RawValue: []byte(value)}
			}
			headerMap.Headers = append(headerMap.Headers, header)
		}
		request.Attributes.Request.Http.HeaderMap = headerMap
		return request
	}

	tests := []struct {
		name       string
		request    *authv3.CheckRequest
		wantStatus int
	}{
		{name: "one header", request: withHeaderMap(false, "Bearer "+token)},
		{name: "one raw header", request: withHeaderMap(true, "Bearer "+token)},
		{name: "two headers", request: withHeaderMap(false, "Bearer "+token, "Bearer "+token), wantStatus: 400},
		{name: "two raw headers", request: withHeaderMap(true, "Bearer "+token, "Basic abc"), wantStatus: 400},
		{name: "no header", request: withHeaderMap(false), wantStatus: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.check(t, tt.request)
			if got.status != tt.wantStatus {
				t.Errorf("status = %d (%s), want %d", got.status, got.detail, tt.wantStatus)
			}
		})
	}
}

func TestCheckCachesVerifiedTokens(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	token := f.sign(t, f.es256, nil)

	if got := f.check(t, bearerRequest("/api/x", "Bearer "+token)); got.code != codes.OK {
		t.Fatalf("first check denied: %d %s", got.status, got.detail)
	}
	f.server.tokens.Wait()
	if _, found := f.server.tokens.Get(tokencache.KeyOf(token)); !found {
		t.Fatal("verified token is not cached")
	}

	t.Run("cached token still needs scopes", func(t *testing.T) {
		narrow := f.sign(t, f.es256, func(c *claims.AccessToken) { c.Scope = claims.ScopeClaim{"other"} })
		f.check(t, bearerRequest("/api/x", "Bearer "+narrow))
		f.server.tokens.Wait()
		if got := f.check(t, bearerRequest("/reports/1", "Bearer "+narrow)); got.status != 403 {
			t.Errorf("status = %d, want 403 for a cached token without the scope", got.status)
		}
	})
	t.Run("retired key stops cached token", func(t *testing.T) {
		f.issuer.Publish(f.rs256)
		f.clock.Advance(jwks.DefaultRefetchInterval)
		// A token with an unknown kid makes the key cache refetch.
		f.check(t, bearerRequest("/api/x", "Bearer "+signWithKID(t, f, f.es256, "unknown")))

		got := f.check(t, bearerRequest("/api/x", "Bearer "+token))
		if got.status != 401 {
			t.Errorf("status = %d (%s), want 401 after the key was retired", got.status, got.detail)
		}
	})
}

func TestCheckCachedTokenKeyChange(t *testing.T) {
	tests := []struct {
		name string
		// replacement returns the key published under the cached token's
		// kid, es-1, after the token was cached.
		replacement func(f *fixture) *testissuer.Key
		wantStatus  int
		wantDetail  string
	}{
		{
			name:        "same key published again",
			replacement: func(f *fixture) *testissuer.Key { return f.es256 },
		},
		{
			name: "other key of the same type",
			replacement: func(*fixture) *testissuer.Key {
				return mustNewKey(t, "es-1", "ES256")
			},
			wantStatus: 401, wantDetail: "signature",
		},
		{
			name: "key of another type",
			replacement: func(*fixture) *testissuer.Key {
				return mustNewKey(t, "es-1", "RS256")
			},
			wantStatus: 401, wantDetail: "algorithm",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{})
			token := f.sign(t, f.es256, nil)
			if got := f.check(t, bearerRequest("/api/x", "Bearer "+token)); got.code != codes.OK {
				t.Fatalf("first check denied: %d %s", got.status, got.detail)
			}
			f.server.tokens.Wait()

			f.issuer.Publish(tt.replacement(f), f.rs256)
			f.clock.Advance(jwks.DefaultRefetchInterval)
			// A token with an unknown kid makes the key cache refetch.
			f.check(t, bearerRequest("/api/x", "Bearer "+signWithKID(t, f, f.es256, "unknown")))

			got := f.check(t, bearerRequest("/api/x", "Bearer "+token))
			if tt.wantStatus == 0 {
				if got.code != codes.OK {
					t.Errorf("check denied with %d %q, want allow", got.status, got.detail)
				}
				return
			}
			if got.status != tt.wantStatus {
				t.Errorf("status = %d (%s), want %d", got.status, got.detail, tt.wantStatus)
			}
			if !strings.Contains(got.detail, tt.wantDetail) {
				t.Errorf("detail = %q, want it to mention %q", got.detail, tt.wantDetail)
			}
		})
	}
}

func mustNewKey(t testing.TB, kid, alg string) *testissuer.Key {
	t.Helper()
	key, err := testissuer.NewKey(kid, alg)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestCheckKeyRotation(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	old := f.sign(t, f.es256, nil)
	if got := f.check(t, bearerRequest("/api/x", "Bearer "+old)); got.code != codes.OK {
		t.Fatalf("check denied: %d %s", got.status, got.detail)
	}

	next, err := testissuer.NewKey("es-2", "ES256")
	if err != nil {
		t.Fatal(err)
	}
	f.issuer.Publish(f.es256, next)
	fresh := f.sign(t, next, nil)

	if got := f.check(t, bearerRequest("/api/x", "Bearer "+fresh)); got.status != 401 {
		t.Errorf("new key allowed within the refetch interval of the last fetch: status %d", got.status)
	}
	f.clock.Advance(jwks.DefaultRefetchInterval)
	if got := f.check(t, bearerRequest("/api/x", "Bearer "+fresh)); got.code != codes.OK {
		t.Errorf("token of the new key denied after the refetch interval: %d %s", got.status, got.detail)
	}
	if got := f.check(t, bearerRequest("/api/x", "Bearer "+old)); got.code != codes.OK {
		t.Errorf("token of the old key denied while the key is still published: %d %s", got.status, got.detail)
	}
}

func TestCheckKeysUnavailable(t *testing.T) {
	f := newFixture(t, fixtureOptions{issuerDown: true})
	token := f.sign(t, f.es256, nil)

	got := f.check(t, bearerRequest("/api/x", "Bearer "+token))
	if got.status != 503 || got.code != codes.Unavailable {
		t.Fatalf("status = %d, code %v (%s), want 503 Unavailable", got.status, got.code, got.detail)
	}
	if got.wwwAuthenticate != "" {
		t.Errorf("WWW-Authenticate = %q on 503, want none", got.wwwAuthenticate)
	}

	f.issuer.SetDown(false)
	f.clock.Advance(jwks.DefaultRefetchInterval)
	if got := f.check(t, bearerRequest("/api/x", "Bearer "+token)); got.code != codes.OK {
		t.Errorf("check denied after the issuer came up: %d %s", got.status, got.detail)
	}

	t.Run("stale keys deny cached tokens", func(t *testing.T) {
		f.issuer.SetDown(true)
		f.clock.Advance(jwks.DefaultMaxStaleness + time.Second)
		if got := f.check(t, bearerRequest("/api/x", "Bearer "+token)); got.status != 503 {
			t.Errorf("status = %d (%s), want 503 past the maximum staleness", got.status, got.detail)
		}
	})
}

func TestCheckPanicDenies(t *testing.T) {
	f := newFixture(t, fixtureOptions{policy: panickingPolicy{}})
	got := f.check(t, bearerRequest("/api/x", "Bearer x"))
	if got.code == codes.OK || got.status != 500 {
		t.Errorf("status = %d, code %v, want a 500 denial", got.status, got.code)
	}
}

func TestNewRejectsBadHeaderNames(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	tests := []struct {
		name    string
		headers HeaderNames
	}{
		{name: "empty name", headers: HeaderNames{Subject: "x-s", ClientID: "x-c", Scopes: "x-p"}},
		{name: "duplicate name", headers: HeaderNames{Subject: "x-s", ClientID: "X-S", Scopes: "x-p", CredentialID: "x-d"}},
		{name: "pseudo-header", headers: HeaderNames{Subject: ":path", ClientID: "x-c", Scopes: "x-p", CredentialID: "x-d"}},
		{name: "space in name", headers: HeaderNames{Subject: "x s", ClientID: "x-c", Scopes: "x-p", CredentialID: "x-d"}},
		{name: "authorization", headers: HeaderNames{Subject: "authorization", ClientID: "x-c", Scopes: "x-p", CredentialID: "x-d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Options{Verification: verify.Config{Issuer: f.issuer.URL(), Audience: testissuer.Audience}, Keys: f.keys, Policy: f.server.policy, Headers: tt.headers})
			if err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
}
