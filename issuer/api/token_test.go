package api_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/issuer/api"
	"github.com/gatepass/gatepass/shared/claims"
	"github.com/gatepass/gatepass/shared/verify"
)

func TestTokenClientCredentials(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			ti := startIssuer(t, backend)
			credentialID, value := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "read write", permissions: [][]string{{"analytics.*", "reader"}}})

			resp := ti.postToken(t, url.Values{"client_id": {"svc-a"}, "client_secret": {value}})
			if resp.status != http.StatusOK {
				t.Fatalf("status = %d, body %s", resp.status, resp.body)
			}
			if got := resp.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			body := resp.object(t)
			if body["token_type"] != "bearer" || body["expires_in"] != float64(300) || body["scope"] != "read write" {
				t.Errorf("body = %v, want bearer, 300 s and scope \"read write\"", body)
			}
			if refresh, present := body["refresh_token"]; !present || refresh != nil {
				t.Errorf("refresh_token = %v (present %v), want null without offline_access", refresh, present)
			}

			verifier, err := verify.New(verify.Config{Issuer: ti.URL, Audience: ti.URL}, ti.Keys)
			if err != nil {
				t.Fatal(err)
			}
			accessClaims, err := verifier.Verify(context.Background(), body["access_token"].(string))
			if err != nil {
				t.Fatalf("issued token does not verify: %v", err)
			}
			if accessClaims.Subject != "svc-a" || accessClaims.ClientID != "svc-a" || accessClaims.CredentialID != credentialID || accessClaims.ID == "" {
				t.Errorf("claims = %+v, want sub and client_id svc-a, credential %s and a jti", accessClaims, credentialID)
			}
			if len(accessClaims.Permissions) != 1 || accessClaims.Permissions[0][0] != "analytics.*" {
				t.Errorf("permissions = %v, want [[analytics.* reader]]", accessClaims.Permissions)
			}
		})
	}
}

func TestTokenClientSecretBasic(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc@example.com", scopes: "read"})

	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape("svc@example.com") + ":" + url.QueryEscape(value)))
	resp := ti.postToken(t, url.Values{"grant_type": {"client_credentials"}}, "Authorization", "Basic "+basic)
	if resp.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", resp.status, resp.body)
	}
}

func TestTokenScopeNarrowing(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "read write offline_access"})

	body := ti.token(t, "svc-a", value, "scope", "read")
	if body["scope"] != "read" || body["refresh_token"] != nil {
		t.Errorf("narrowed to read: body = %v, want scope read and no refresh token", body)
	}

	body = ti.token(t, "svc-a", value, "scope", "read offline_access")
	if refresh, ok := body["refresh_token"].(string); !ok || !strings.HasPrefix(refresh, "gpr_") {
		t.Errorf("with offline_access: refresh_token = %v, want a gpr_ token", body["refresh_token"])
	}
}

func TestTokenSetCookie(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc-a"})

	form := url.Values{"client_id": {"svc-a"}, "client_secret": {value}}
	resp := do(t, newRequest(t, http.MethodPost, ti.URL+"/token?set_cookie=true", "application/x-www-form-urlencoded", form.Encode()))
	if resp.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", resp.status, resp.body)
	}
	cookie := resp.header.Get("Set-Cookie")
	for _, want := range []string{"access_token=", "HttpOnly", "SameSite=Lax", "Max-Age=300", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("Set-Cookie %q lacks %q", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("Set-Cookie %q is Secure although the issuer is plain-http localhost", cookie)
	}
}

func TestTokenRejects(t *testing.T) {
	eachBackend(t, testTokenRejects)
}

func testTokenRejects(t *testing.T, backend string) {
	ti := startIssuer(t, backend)
	ctx := context.Background()
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "read"})
	expired := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	_, expiredValue := ti.createCredential(t, credentialSpec{clientID: "svc-a", expiresAt: &expired})
	revokedID, revokedValue := ti.createCredential(t, credentialSpec{clientID: "svc-a"})
	if err := ti.Store.RevokeCredential(ctx, "svc-a", revokedID, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	_, disabledValue := ti.createCredential(t, credentialSpec{clientID: "svc-off"})
	if err := ti.Store.SetClientDisabled(ctx, "svc-off", true); err != nil {
		t.Fatal(err)
	}
	_, otherValue := ti.createCredential(t, credentialSpec{clientID: "svc-b"})
	ending := time.Now().Add(300 * time.Millisecond).UTC().Truncate(time.Microsecond)
	_, endingValue := ti.createCredential(t, credentialSpec{clientID: "svc-a", expiresAt: &ending})

	badChecksum := value[:len(value)-1] + flipChar(value[len(value)-1])
	unknown, _ := ti.Secrets.NewCredentialSecret("0123456789abcdef0123456789abcdef")
	form := func(pairs ...string) string {
		values := url.Values{}
		for i := 0; i+1 < len(pairs); i += 2 {
			values.Add(pairs[i], pairs[i+1])
		}
		return values.Encode()
	}
	basic := func(user, password string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	}
	const formType = "application/x-www-form-urlencoded"

	tests := []struct {
		name        string
		contentType string
		body        string
		headers     []string
		query       string
		wantStatus  int
		wantError   string
	}{
		{name: "JSON body", contentType: "application/json", body: `{"client_id":"svc-a"}`, wantStatus: 422},
		{name: "missing content type", body: form("client_id", "svc-a", "client_secret", value), wantStatus: 422},
		{name: "multipart body", contentType: "multipart/form-data; boundary=x", body: "--x--", wantStatus: 422},
		{name: "bad set_cookie", contentType: formType, body: form("client_id", "svc-a", "client_secret", value), query: "?set_cookie=maybe", wantStatus: 422},
		{name: "oversize body", contentType: formType, body: "client_id=" + strings.Repeat("a", 9000), wantStatus: 413},
		{name: "oversize field", contentType: formType, body: form("client_id", strings.Repeat("a", 3000), "client_secret", value), wantStatus: 400, wantError: "invalid_request"},
		{name: "repeated field", contentType: formType, body: form("client_id", "svc-a", "client_id", "svc-a", "client_secret", value), wantStatus: 400, wantError: "invalid_request"},
		{name: "bad form encoding", contentType: formType, body: "client_id=%zz", wantStatus: 400, wantError: "invalid_request"},
		{name: "missing client_id", contentType: formType, body: form("client_secret", value), wantStatus: 400, wantError: "invalid_request"},
		{name: "missing client_secret", contentType: formType, body: form("client_id", "svc-a"), wantStatus: 400, wantError: "invalid_request"},
		{name: "invalid UTF-8 grant_type", contentType: formType, body: "grant_type=%FF&client_id=svc-a", wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "client id outside the syntax", contentType: formType, body: form("client_id", "svc a\x00", "client_secret", value), wantStatus: 401, wantError: "invalid_client"},
		{name: "credential expiring within the second", contentType: formType, body: form("client_id", "svc-a", "client_secret", endingValue), wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown grant_type", contentType: formType, body: form("grant_type", "password", "client_id", "svc-a", "client_secret", value), wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "malformed Basic header", contentType: formType, body: form("grant_type", "client_credentials"), headers: []string{"Authorization", "Basic !!!"}, wantStatus: 401, wantError: "invalid_client"},
		{name: "Basic without colon", contentType: formType, body: form(), headers: []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("svc-a"))}, wantStatus: 401, wantError: "invalid_client"},
		{name: "Basic and form secret", contentType: formType, body: form("client_secret", value), headers: []string{"Authorization", basic("svc-a", value)}, wantStatus: 400, wantError: "invalid_request"},
		{name: "bearer instead of Basic", contentType: formType, body: form(), headers: []string{"Authorization", "Bearer abc"}, wantStatus: 401, wantError: "invalid_client"},
		{name: "not a gatepass secret", contentType: formType, body: form("client_id", "svc-a", "client_secret", "hunter2"), wantStatus: 401, wantError: "invalid_client"},
		{name: "bad checksum", contentType: formType, body: form("client_id", "svc-a", "client_secret", badChecksum), wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown credential", contentType: formType, body: form("client_id", "svc-a", "client_secret", unknown), wantStatus: 401, wantError: "invalid_client"},
		{name: "secret of another client", contentType: formType, body: form("client_id", "svc-a", "client_secret", otherValue), wantStatus: 401, wantError: "invalid_client"},
		{name: "expired credential", contentType: formType, body: form("client_id", "svc-a", "client_secret", expiredValue), wantStatus: 401, wantError: "invalid_client"},
		{name: "revoked credential", contentType: formType, body: form("client_id", "svc-a", "client_secret", revokedValue), wantStatus: 401, wantError: "invalid_client"},
		{name: "disabled client", contentType: formType, body: form("client_id", "svc-off", "client_secret", disabledValue), wantStatus: 401, wantError: "invalid_client"},
		{name: "scope not held", contentType: formType, body: form("client_id", "svc-a", "client_secret", value, "scope", "read admin"), wantStatus: 400, wantError: "invalid_scope"},
		{name: "malformed scope", contentType: formType, body: form("client_id", "svc-a", "client_secret", value, "scope", `re"ad`), wantStatus: 400, wantError: "invalid_scope"},
		{name: "refresh grant without token", contentType: formType, body: form("grant_type", "refresh_token", "client_id", "svc-a"), wantStatus: 400, wantError: "invalid_request"},
		{name: "refresh grant with garbage", contentType: formType, body: form("grant_type", "refresh_token", "refresh_token", "garbage", "client_id", "svc-a", "client_secret", value), wantStatus: 400, wantError: "invalid_grant"},
		{name: "refresh grant without client", contentType: formType, body: form("grant_type", "refresh_token", "refresh_token", "garbage"), wantStatus: 400, wantError: "invalid_request"},
		{name: "two Authorization headers", contentType: formType, body: form(), headers: []string{"Authorization", basic("svc-a", value), "Authorization", basic("svc-b", otherValue)}, wantStatus: 400, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, newRequest(t, http.MethodPost, ti.URL+"/token"+tt.query, tt.contentType, tt.body, tt.headers...))
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.status, tt.wantStatus, resp.body)
			}
			if tt.wantStatus == 422 {
				var body struct {
					Detail []struct {
						Loc  []any  `json:"loc"`
						Msg  string `json:"msg"`
						Type string `json:"type"`
					} `json:"detail"`
					Error string `json:"error"`
				}
				resp.json(t, &body)
				if len(body.Detail) == 0 || len(body.Detail[0].Loc) == 0 || body.Detail[0].Msg == "" || body.Detail[0].Type == "" {
					t.Errorf("422 body %s lacks detail[].loc/msg/type", resp.body)
				}
				if body.Error != "invalid_request" {
					t.Errorf("422 body %s lacks error invalid_request for OAuth libraries", resp.body)
				}
				return
			}
			if tt.wantError == "" {
				return
			}
			body := resp.object(t)
			if body["error"] != tt.wantError || body["error_description"] == "" || body["detail"] == "" {
				t.Errorf("body = %s, want error %q with error_description and detail", resp.body, tt.wantError)
			}
			if tt.wantStatus == 401 && !strings.HasPrefix(resp.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("401 without a Basic WWW-Authenticate challenge: %q", resp.header.Get("WWW-Authenticate"))
			}
		})
	}
}

func flipChar(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func TestTokenFailedAuthenticationIsRateLimited(t *testing.T) {
	ti := startIssuer(t, "sqlite", withAuthBurst(10))
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc-a"})
	wrong := value[:len(value)-1] + flipChar(value[len(value)-1])

	var last response
	for range 11 {
		last = ti.postToken(t, url.Values{"client_id": {"svc-a"}, "client_secret": {wrong}})
		if last.status == http.StatusTooManyRequests {
			break
		}
	}
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("after repeated failures status = %d, want 429", last.status)
	}
	if last.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}

	resp := ti.postToken(t, url.Values{"client_id": {"svc-a"}, "client_secret": {value}})
	if resp.status != http.StatusTooManyRequests {
		t.Errorf("right secret while blocked: status = %d, want 429 until the limit drains", resp.status)
	}
}

func TestTokenHeader(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc-a"})
	raw := ti.accessToken(t, "svc-a", value)

	parsed, _, err := jwt.NewParser().ParseUnverified(raw, &claims.AccessToken{})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["typ"] != "at+jwt" || parsed.Header["alg"] != "ES256" || parsed.Header["kid"] == "" {
		t.Errorf("header = %v, want typ at+jwt, alg ES256 and a kid", parsed.Header)
	}
}

func TestTokenEmptyBodyWithBasic(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc-a"})

	request := newRequest(t, http.MethodPost, ti.URL+"/token", "", "", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("svc-a:"+value)))
	if resp := do(t, request); resp.status != http.StatusOK {
		t.Errorf("empty body with Basic: status %d, body %s, want 200", resp.status, resp.body)
	}
}

func TestHeadOnGetEndpoints(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	for _, path := range []string{"/health", "/health/ready", "/jwks", "/.well-known/openid-configuration"} {
		resp := do(t, newRequest(t, http.MethodHead, ti.URL+path, "", ""))
		if resp.status != http.StatusOK || len(resp.body) != 0 {
			t.Errorf("HEAD %s: status %d with %d body bytes, want 200 and no body", path, resp.status, len(resp.body))
		}
	}
}

func TestLargestCredentialTokenVerifies(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	var scopes []string
	for i := range 20 {
		scopes = append(scopes, fmt.Sprintf("%s%02d", strings.Repeat("s", 98), i))
	}
	permissions := [][]string{}
	for i := range 9 {
		permissions = append(permissions, []string{fmt.Sprintf("%s%02d", strings.Repeat("p", 200), i)})
	}
	if err := api.CheckTokenBudget(scopes, permissions); err != nil {
		t.Fatalf("test credential exceeds the budget it should fill: %v", err)
	}
	_, value := ti.createCredential(t, credentialSpec{clientID: strings.Repeat("c", 64), scopes: strings.Join(scopes, " "), permissions: permissions})

	token := ti.accessToken(t, strings.Repeat("c", 64), value)
	if len(token) > verify.MaxTokenLength {
		t.Fatalf("token is %d bytes, over the %d bytes verifiers accept", len(token), verify.MaxTokenLength)
	}
	if resp := do(t, newRequest(t, http.MethodGet, ti.URL+"/me", "", "", bearer(token)...)); resp.status != http.StatusOK {
		t.Errorf("/me with the largest token: status %d, body %s", resp.status, resp.body)
	}
}
