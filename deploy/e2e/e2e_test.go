// Package e2e_test runs the built issuer and sidecar binaries as processes,
// the issuer on PostgreSQL, and sends them what integrations and Envoy send.
package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/gatepass/gatepass/issuer/store/postgres/pgtest"
)

const (
	adminToken       = "e2e-admin-token-0123456789abcdef"
	keyEncryptionKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
)

// testPolicy protects /reports with reports:read and leaves /status open.
const testPolicy = `
default: deny
rules:
  - name: status
    path: /status
    access: public
  - name: reports
    prefix: /reports
    access: scopes
    scopes:
      all_of: [reports:read]
`

// stack is a running issuer and sidecar.
type stack struct {
	issuerURL   string
	issuerEnv   []string
	issuerBin   string
	sidecarAddr string
	check       authv3.AuthorizationClient
}

func startStack(t *testing.T) *stack {
	t.Helper()
	issuerBin, sidecarBin := buildBinaries(t)
	issuerAddr := freeAddress(t)
	s := &stack{issuerURL: "http://" + issuerAddr, issuerBin: issuerBin, sidecarAddr: freeAddress(t)}
	s.issuerEnv = []string{
		"GATEPASS_DATABASE_URL=" + pgtest.NewDatabase(t),
		"GATEPASS_KEY_ENCRYPTION_KEY=" + keyEncryptionKey,
		"GATEPASS_ISSUER_URL=" + s.issuerURL,
		"GATEPASS_LISTEN=" + issuerAddr,
		"GATEPASS_ADMIN_TOKEN=" + adminToken,
		"GATEPASS_KEY_REFRESH_INTERVAL=1s",
	}
	issuer := startProcess(t, "issuer", issuerBin, s.issuerEnv, "serve")
	waitUntil(t, issuer, 30*time.Second, "issuer", httpReady(s.issuerURL+"/health/ready"))

	policyFile := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(policyFile, []byte(testPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	sidecar := startProcess(t, "extauthz", sidecarBin, []string{
		"GATEPASS_ISSUER_URL=" + s.issuerURL,
		"GATEPASS_POLICY_FILE=" + policyFile,
		"GATEPASS_EXTAUTHZ_LISTEN=" + s.sidecarAddr,
		"GATEPASS_EXTAUTHZ_METRICS_LISTEN=" + freeAddress(t),
		"GATEPASS_EXTAUTHZ_JWKS_REFETCH_INTERVAL=1s",
	}, "serve")

	conn, err := grpc.NewClient(s.sidecarAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	health := healthpb.NewHealthClient(conn)
	waitUntil(t, sidecar, 30*time.Second, "sidecar", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return err
		}
		if resp.Status != healthpb.HealthCheckResponse_SERVING {
			return &statusError{resp.Status.String()}
		}
		return nil
	})
	s.check = authv3.NewAuthorizationClient(conn)
	return s
}

type statusError struct{ status string }

func (e *statusError) Error() string { return "health status " + e.status }

// createCredential registers a credential through the admin API and returns
// its id and secret.
func (s *stack) createCredential(t *testing.T, clientID string, scopes ...string) (id, secret string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"scopes": scopes})
	request, _ := http.NewRequest(http.MethodPost, s.issuerURL+"/clients/"+clientID+"/credentials", strings.NewReader(string(body)))
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("X-Admin-Token", adminToken)
	resp, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var created struct {
		CredentialID string `json:"credential_id"`
		Secret       string `json:"secret"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&created); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("creating a credential for %s: status %d, error %v", clientID, resp.StatusCode, err)
	}
	return created.CredentialID, created.Secret
}

// token gets an access token with golang.org/x/oauth2, as integrations do.
func (s *stack) token(t *testing.T, clientID, secret string) string {
	t.Helper()
	config := clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: s.issuerURL + "/token", AuthStyle: oauth2.AuthStyleInParams}
	token, err := config.Token(context.Background())
	if err != nil {
		t.Fatalf("token for %s: %v", clientID, err)
	}
	return token.AccessToken
}

// checkRequest is the CheckRequest Envoy sends for a request, with header
// names in lower case as Envoy writes them.
func checkRequest(method, path, authorization string) *authv3.CheckRequest {
	headers := map[string]string{":method": method, ":path": path, ":authority": "api.example.test", "x-auth-subject": "forged"}
	if authorization != "" {
		headers["authorization"] = authorization
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "127.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 40000}},
		}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "e2e", Method: method, Path: path, Host: "api.example.test", Scheme: "http", Protocol: "HTTP/1.1", Headers: headers,
		}},
	}}
}

func (s *stack) doCheck(t *testing.T, method, path, authorization string) *authv3.CheckResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := s.check.Check(ctx, checkRequest(method, path, authorization))
	if err != nil {
		t.Fatalf("Check %s %s: %v", method, path, err)
	}
	return resp
}

// deniedStatus returns the HTTP status of a denial, or 200 for an allow.
func deniedStatus(resp *authv3.CheckResponse) int {
	if codes.Code(resp.GetStatus().GetCode()) == codes.OK {
		return http.StatusOK
	}
	return int(resp.GetDeniedResponse().GetStatus().GetCode())
}

func headerValue(options []*corev3.HeaderValueOption, name string) string {
	for _, option := range options {
		if strings.EqualFold(option.GetHeader().GetKey(), name) {
			return option.GetHeader().GetValue()
		}
	}
	return ""
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid
}

func TestEndToEnd(t *testing.T) {
	s := startStack(t)
	readerID, readerSecret := s.createCredential(t, "svc-reader", "reports:read")
	_, plainSecret := s.createCredential(t, "svc-plain", "other")
	reader := s.token(t, "svc-reader", readerSecret)
	plain := s.token(t, "svc-plain", plainSecret)

	tests := []struct {
		name          string
		method, path  string
		authorization string
		wantStatus    int
		wantChallenge string
	}{
		{name: "public path without token", method: "GET", path: "/status", wantStatus: 200},
		{name: "protected path without token", method: "GET", path: "/reports/1", wantStatus: 401, wantChallenge: `Bearer`},
		{name: "malformed token", method: "GET", path: "/reports/1", authorization: "Bearer not.a.jwt", wantStatus: 401, wantChallenge: `error="invalid_token"`},
		{name: "token without the scope", method: "GET", path: "/reports/1", authorization: "Bearer " + plain, wantStatus: 403, wantChallenge: `error="insufficient_scope"`},
		{name: "token with the scope", method: "GET", path: "/reports/1", authorization: "Bearer " + reader, wantStatus: 200},
		{name: "unmatched path", method: "GET", path: "/elsewhere", authorization: "Bearer " + reader, wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := s.doCheck(t, tt.method, tt.path, tt.authorization)
			if got := deniedStatus(resp); got != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", got, tt.wantStatus, resp.GetStatus().GetMessage())
			}
			if tt.wantChallenge != "" {
				challenge := headerValue(resp.GetDeniedResponse().GetHeaders(), "www-authenticate")
				if !strings.Contains(challenge, tt.wantChallenge) {
					t.Errorf("WWW-Authenticate = %q, want it to contain %s", challenge, tt.wantChallenge)
				}
			}
		})
	}

	t.Run("identity headers replace forged ones", func(t *testing.T) {
		ok := s.doCheck(t, "GET", "/reports/1", "Bearer "+reader).GetOkResponse()
		if got := headerValue(ok.GetHeaders(), "x-auth-subject"); got != "svc-reader" {
			t.Errorf("x-auth-subject = %q, want svc-reader", got)
		}
		if got := headerValue(ok.GetHeaders(), "x-auth-credential-id"); got != readerID {
			t.Errorf("x-auth-credential-id = %q, want %s", got, readerID)
		}
	})

	t.Run("revoked credential still passes the edge until expiry", func(t *testing.T) {
		testRevokedCredential(t, s)
	})

	t.Run("key rotation", func(t *testing.T) {
		testKeyRotation(t, s, reader, readerSecret)
	})
}

// testRevokedCredential documents a known limit: the sidecar verifies
// tokens offline, so an access token of a revoked credential is allowed at
// the edge until it expires, while /me, which checks storage, rejects it.
func testRevokedCredential(t *testing.T, s *stack) {
	id, secret := s.createCredential(t, "svc-revoked", "reports:read")
	token := s.token(t, "svc-revoked", secret)

	request, _ := http.NewRequest(http.MethodDelete, s.issuerURL+"/clients/svc-revoked/credentials/"+id, nil)
	request.Header.Set("X-Admin-Token", adminToken)
	resp, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoking: status %d", resp.StatusCode)
	}

	if got := deniedStatus(s.doCheck(t, "GET", "/reports/1", "Bearer "+token)); got != http.StatusOK {
		t.Errorf("edge decision for a revoked credential's token = %d, want 200 (allowed until it expires)", got)
	}
	me, _ := http.NewRequest(http.MethodGet, s.issuerURL+"/me", nil)
	me.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(me)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/me for a revoked credential's token = %d, want 401", resp.StatusCode)
	}
}

// testKeyRotation rotates the signing key with the issuer's keys command
// while both processes run: tokens signed with the new key are allowed once
// the sidecar refetches the keys, and tokens signed before stay allowed.
func testKeyRotation(t *testing.T, s *stack, oldToken, secret string) {
	oldKid := kidOf(t, oldToken)
	runCommand(t, s.issuerBin, s.issuerEnv, "keys", "rotate")

	var newToken string
	eventually(t, 15*time.Second, "the running issuer signs with the new key", func() bool {
		newToken = s.token(t, "svc-reader", secret)
		return kidOf(t, newToken) != oldKid
	})
	eventually(t, 10*time.Second, "the sidecar allows a token signed with the new key", func() bool {
		return deniedStatus(s.doCheck(t, "GET", "/reports/1", "Bearer "+newToken)) == http.StatusOK
	})
	if got := deniedStatus(s.doCheck(t, "GET", "/reports/1", "Bearer "+oldToken)); got != http.StatusOK {
		t.Errorf("token signed before rotation = %d, want 200 until it expires", got)
	}
}
