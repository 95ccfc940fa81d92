package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatepass/gatepass/shared/claims"
)

func TestMeRejects(t *testing.T) {
	eachBackend(t, testMeRejects)
}

func testMeRejects(t *testing.T, backend string) {
	ti := startIssuer(t, backend)
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "read"})
	token := ti.accessToken(t, "svc-a", value)
	_, disabledValue := ti.createCredential(t, credentialSpec{clientID: "svc-off"})
	disabledToken := ti.accessToken(t, "svc-off", disabledValue)
	if err := ti.Store.SetClientDisabled(context.Background(), "svc-off", true); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	foreign := foreignToken(t)

	tests := []struct {
		name    string
		headers []string
	}{
		{"no header", nil},
		{"empty bearer", []string{"Authorization", "Bearer "}},
		{"no scheme", []string{"Authorization", token}},
		{"Basic scheme", []string{"Authorization", "Basic " + token}},
		{"two tokens", []string{"Authorization", "Bearer " + token + " " + token}},
		{"two headers", []string{"Authorization", "Bearer " + token, "Authorization", "Bearer " + token}},
		{"tampered payload", []string{"Authorization", "Bearer " + parts[0] + "." + parts[1] + "x." + parts[2]}},
		{"wrong segment count", []string{"Authorization", "Bearer " + parts[0] + "." + parts[1]}},
		{"token of unknown key", []string{"Authorization", "Bearer " + foreign}},
		{"disabled client", bearer(disabledToken)},
		{"oversize token", []string{"Authorization", "Bearer " + strings.Repeat("a", 10000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, newRequest(t, http.MethodGet, ti.URL+"/me", "", "", tt.headers...))
			if resp.status != http.StatusUnauthorized {
				t.Fatalf("status = %d, want 401; body %s", resp.status, resp.body)
			}
			if challenge := resp.header.Get("WWW-Authenticate"); !strings.Contains(challenge, `Bearer`) || !strings.Contains(challenge, `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q, want a Bearer invalid_token challenge", challenge)
			}
			if detail, _ := resp.object(t)["detail"].(string); detail == "" {
				t.Errorf("body %s has no detail", resp.body)
			}
		})
	}
}

// foreignToken is a well-formed token signed by a key the issuer never
// published.
func foreignToken(t *testing.T) string {
	t.Helper()
	token := jwt.NewWithClaims(jwt.SigningMethodHS256, claims.AccessToken{
		RegisteredClaims: jwt.RegisteredClaims{Subject: "svc-a", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))},
	})
	token.Header["kid"] = "unknown"
	token.Header["typ"] = "at+jwt"
	signed, err := token.SignedString([]byte("some key"))
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestMeReadsCookie(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "read"})
	token := ti.accessToken(t, "svc-a", value)

	resp := do(t, newRequest(t, http.MethodGet, ti.URL+"/me", "", "", "Cookie", "access_token="+token))
	if resp.status != http.StatusOK {
		t.Fatalf("status = %d, body %s", resp.status, resp.body)
	}
	body := resp.object(t)
	if body["client_id"] != "svc-a" || body["sub"] != "svc-a" || body["subject"] != "svc-a" {
		t.Errorf("/me via cookie = %v, want client_id, sub and subject svc-a", body)
	}
	scopes, _ := body["scopes"].([]any)
	if len(scopes) != 1 || scopes[0] != "read" {
		t.Errorf("scopes = %v, want [read]", body["scopes"])
	}
}
