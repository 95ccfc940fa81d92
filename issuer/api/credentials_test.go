package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const jsonType = "application/json"

func TestCredentialsLifecycle(t *testing.T) {
	eachBackend(t, testCredentialsLifecycle)
}

// testCredentialsLifecycle walks the documented flow. An administrator
// creates a credential, and the client trades it for a token, calls /me and
// creates a child credential itself. Then the parent is revoked: /token and
// /me reject it while the child keeps working.
func testCredentialsLifecycle(t *testing.T, backend string) {
	ti := startIssuer(t, backend)

	resp := do(t, newRequest(t, http.MethodPost, ti.URL+"/clients/svc-a/credentials", jsonType,
		`{"scopes":["credentials:write","read"],"permissions":[["analytics.*","reader"]]}`, "X-Admin-Token", testAdminToken))
	if resp.status != http.StatusOK {
		t.Fatalf("admin create: status %d, body %s", resp.status, resp.body)
	}
	var created struct {
		ClientID      string `json:"client_id"`
		CredentialID  string `json:"credential_id"`
		Secret        string `json:"secret"`
		ExpiresInDays *int   `json:"expires_in_days"`
	}
	resp.json(t, &created)
	if created.ClientID != "svc-a" || created.CredentialID == "" || !strings.HasPrefix(created.Secret, "gp_") || created.ExpiresInDays == nil || *created.ExpiresInDays != 90 {
		t.Fatalf("created = %+v, want client svc-a, a gp_ secret and the 90-day default", created)
	}

	token := ti.accessToken(t, "svc-a", created.Secret)
	me := do(t, newRequest(t, http.MethodGet, ti.URL+"/me", "", "", bearer(token)...))
	if me.status != http.StatusOK {
		t.Fatalf("/me: status %d, body %s", me.status, me.body)
	}
	meBody := me.object(t)
	if meBody["subject"] != "svc-a" || meBody["client_id"] != "svc-a" || meBody["credential_id"] != created.CredentialID || meBody["credential_type"] != "interactive" {
		t.Errorf("/me = %v", meBody)
	}
	if issuedAt, _ := meBody["issued_at"].(string); !strings.HasSuffix(issuedAt, "+00:00") || len(issuedAt) != len("2026-08-21T09:14:02.118443+00:00") {
		t.Errorf("issued_at = %q, want microseconds and +00:00", issuedAt)
	}

	child := do(t, newRequest(t, http.MethodPost, ti.URL+"/clients/svc-a/credentials", jsonType, `{"scopes":["read"],"expires_in_days":30}`, bearer(token)...))
	if child.status != http.StatusOK {
		t.Fatalf("self-service create: status %d, body %s", child.status, child.body)
	}
	var childCreated struct {
		CredentialID string `json:"credential_id"`
		Secret       string `json:"secret"`
	}
	child.json(t, &childCreated)

	list := do(t, newRequest(t, http.MethodGet, ti.URL+"/clients/svc-a/credentials", "", "", bearer(token)...))
	var listed []map[string]any
	list.json(t, &listed)
	if list.status != http.StatusOK || len(listed) != 2 {
		t.Fatalf("list: status %d, %d credentials, want 2: %s", list.status, len(listed), list.body)
	}
	if strings.Contains(string(list.body), created.Secret) || strings.Contains(string(list.body), "secret") {
		t.Errorf("list shows a secret: %s", list.body)
	}

	revoke := do(t, newRequest(t, http.MethodDelete, ti.URL+"/clients/svc-a/credentials/"+created.CredentialID, "", "", "X-Admin-Token", testAdminToken))
	if revoke.status != http.StatusOK {
		t.Fatalf("revoke: status %d, body %s", revoke.status, revoke.body)
	}

	rejected := ti.postToken(t, url.Values{"client_id": {"svc-a"}, "client_secret": {created.Secret}})
	if rejected.status != http.StatusUnauthorized {
		t.Errorf("/token with revoked secret: status %d, want 401", rejected.status)
	}
	me = do(t, newRequest(t, http.MethodGet, ti.URL+"/me", "", "", bearer(token)...))
	if me.status != http.StatusUnauthorized || !strings.Contains(me.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("/me with revoked credential's token: status %d, WWW-Authenticate %q", me.status, me.header.Get("WWW-Authenticate"))
	}
	ti.accessToken(t, "svc-a", childCreated.Secret)

	assertAuditCount(t, ti.Store, "credential.created", 2)
	assertAuditCount(t, ti.Store, "credential.revoked", 1)
	adminList := do(t, newRequest(t, http.MethodGet, ti.URL+"/clients/svc-a/credentials", "", "", "X-Admin-Token", testAdminToken))
	if adminList.status != http.StatusOK {
		t.Fatalf("admin list: status %d, body %s", adminList.status, adminList.body)
	}
	assertAuditCount(t, ti.Store, "credential.listed", 1)

	again := do(t, newRequest(t, http.MethodDelete, ti.URL+"/clients/svc-a/credentials/"+created.CredentialID, "", "", "X-Admin-Token", testAdminToken))
	if again.status != http.StatusNotFound {
		t.Errorf("second revoke: status %d, want 404", again.status)
	}
}

func TestCredentialsCrossClientAccess(t *testing.T) {
	eachBackend(t, testCrossClientAccess)
}

// testCrossClientAccess checks every combination of caller and target:
// a client never lists, creates or revokes another client's credentials,
// whatever scopes it holds, unless it is an administrator.
func testCrossClientAccess(t *testing.T, backend string) {
	ti := startIssuer(t, backend)
	_, writerA := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "credentials:write credentials:read"})
	targetB, writerB := ti.createCredential(t, credentialSpec{clientID: "svc-b", scopes: "credentials:write"})
	_, readerA := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "credentials:read"})
	_, plainA := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "read"})
	_, adminC := ti.createCredential(t, credentialSpec{clientID: "ops", scopes: "gatepass:admin"})

	tokenWriterA := ti.accessToken(t, "svc-a", writerA)
	tokenReaderA := ti.accessToken(t, "svc-a", readerA)
	tokenPlainA := ti.accessToken(t, "svc-a", plainA)
	tokenWriterB := ti.accessToken(t, "svc-b", writerB)
	tokenAdmin := ti.accessToken(t, "ops", adminC)

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		headers    []string
		wantStatus int
	}{
		{"writer lists own", http.MethodGet, "/clients/svc-a/credentials", "", bearer(tokenWriterA), 200},
		{"reader lists own", http.MethodGet, "/clients/svc-a/credentials", "", bearer(tokenReaderA), 200},
		{"plain token lists own", http.MethodGet, "/clients/svc-a/credentials", "", bearer(tokenPlainA), 403},
		{"writer lists other", http.MethodGet, "/clients/svc-b/credentials", "", bearer(tokenWriterA), 403},
		{"writer creates for other", http.MethodPost, "/clients/svc-b/credentials", "{}", bearer(tokenWriterA), 403},
		{"writer revokes other's", http.MethodDelete, "/clients/svc-b/credentials/" + targetB, "", bearer(tokenWriterA), 403},
		{"other writer revokes via own path", http.MethodDelete, "/clients/svc-a/credentials/" + targetB, "", bearer(tokenWriterA), 404},
		{"B lists A", http.MethodGet, "/clients/svc-a/credentials", "", bearer(tokenWriterB), 403},
		{"reader creates own", http.MethodPost, "/clients/svc-a/credentials", "{}", bearer(tokenReaderA), 403},
		{"reader revokes own", http.MethodDelete, "/clients/svc-a/credentials/" + targetB, "", bearer(tokenReaderA), 403},
		{"writer creates unknown client", http.MethodPost, "/clients/svc-new/credentials", "{}", bearer(tokenWriterA), 403},
		{"admin scope lists other", http.MethodGet, "/clients/svc-b/credentials", "", bearer(tokenAdmin), 200},
		{"admin header lists other", http.MethodGet, "/clients/svc-b/credentials", "", []string{"X-Admin-Token", testAdminToken}, 200},
		{"wrong admin header", http.MethodGet, "/clients/svc-b/credentials", "", []string{"X-Admin-Token", "nope"}, 401},
		{"no credentials", http.MethodGet, "/clients/svc-a/credentials", "", nil, 401},
		{"garbage bearer", http.MethodGet, "/clients/svc-a/credentials", "", bearer("garbage"), 401},
		{"admin lists unknown client", http.MethodGet, "/clients/nobody/credentials", "", []string{"X-Admin-Token", testAdminToken}, 404},
		{"admin revokes unknown credential", http.MethodDelete, "/clients/svc-a/credentials/0123456789abcdef0123456789abcdef", "", []string{"X-Admin-Token", testAdminToken}, 404},
		{"invalid client id in path", http.MethodGet, "/clients/bad%20id!/credentials", "", []string{"X-Admin-Token", testAdminToken}, 422},
		{"dot segment client id", http.MethodPost, "/clients/%2e%2e/credentials", "{}", []string{"X-Admin-Token", testAdminToken}, 422},
		{"flag-like client id", http.MethodPost, "/clients/--help/credentials", "{}", []string{"X-Admin-Token", testAdminToken}, 422},
		{"overlong client id in path", http.MethodGet, "/clients/" + strings.Repeat("a", 65) + "/credentials", "", []string{"X-Admin-Token", testAdminToken}, 422},
		{"admin creates for new client", http.MethodPost, "/clients/svc-new/credentials", "{}", []string{"X-Admin-Token", testAdminToken}, 200},
		{"writer revokes other via cookie", http.MethodDelete, "/clients/svc-a/credentials/" + targetB, "", []string{"Cookie", "access_token=" + tokenWriterA}, 401},
		{"writer creates via cookie", http.MethodPost, "/clients/svc-a/credentials", "{}", []string{"Cookie", "access_token=" + tokenWriterA}, 401},
		{"writer revokes B's credential last", http.MethodDelete, "/clients/svc-b/credentials/" + targetB, "", bearer(tokenWriterB), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			contentType := ""
			if tt.body != "" {
				contentType = jsonType
			}
			resp := do(t, newRequest(t, tt.method, ti.URL+tt.path, contentType, tt.body, tt.headers...))
			if resp.status != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.status, tt.wantStatus, resp.body)
			}
		})
	}
}

func TestCreateCredentialValidation(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	admin := []string{"X-Admin-Token", testAdminToken}

	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantLoc    string
	}{
		{"malformed JSON", `{"type":`, 422, "body"},
		{"array body", `[]`, 422, "body"},
		{"null body", `null`, 422, "body"},
		{"type not a string", `{"type":5}`, 422, "body.type"},
		{"type with spaces", `{"type":"a b"}`, 422, "body.type"},
		{"expires_in_days string", `{"expires_in_days":"90"}`, 422, "body.expires_in_days"},
		{"expires_in_days float", `{"expires_in_days":1.5}`, 422, "body.expires_in_days"},
		{"expires_in_days bool", `{"expires_in_days":true}`, 422, "body.expires_in_days"},
		{"expires_in_days negative", `{"expires_in_days":-1}`, 422, "body.expires_in_days"},
		{"expires_in_days zero", `{"expires_in_days":0}`, 422, "body.expires_in_days"},
		{"expires_in_days absurd", `{"expires_in_days":99999999999999999999}`, 422, "body.expires_in_days"},
		{"expires_in_days too large", `{"expires_in_days":36501}`, 422, "body.expires_in_days"},
		{"scopes not a list", `{"scopes":"read"}`, 422, "body.scopes"},
		{"scope not a string", `{"scopes":[1]}`, 422, "body.scopes.0"},
		{"scope with quote", `{"scopes":["re\"ad"]}`, 422, "body.scopes.0"},
		{"scope with space", `{"scopes":["read write"]}`, 422, "body.scopes.0"},
		{"scope too long", `{"scopes":["` + strings.Repeat("a", 129) + `"]}`, 422, "body.scopes.0"},
		{"too many scopes", `{"scopes":[` + strings.Repeat(`"a",`, 64) + `"b"]}`, 422, "body.scopes"},
		{"permissions flat list", `{"permissions":["a"]}`, 422, "body.permissions.0"},
		{"permission empty list", `{"permissions":[[]]}`, 422, "body.permissions.0"},
		{"permission empty string", `{"permissions":[["a",""]]}`, 422, "body.permissions.0.1"},
		{"permission number", `{"permissions":[["a",1]]}`, 422, "body.permissions.0.1"},
		{"too many permissions", `{"permissions":[` + strings.Repeat(`["a"],`, 64) + `["b"]]}`, 422, "body.permissions"},
		{"scopes too large for a token", `{"scopes":[` + repeatedJSON(`"`+strings.Repeat("s", 100)+`%d"`, 30) + `]}`, 422, "body.scopes"},
		{"permissions too large for a token", `{"permissions":[` + repeatedJSON(`["`+strings.Repeat("p", 200)+`%d"]`, 20) + `]}`, 422, "body.permissions"},
		{"oversize body", `{"type":"` + strings.Repeat("a", 70000) + `"}`, 413, ""},
		{"defaults from empty object", `{}`, 200, ""},
		{"null expiry", `{"expires_in_days":null}`, 200, ""},
		{"unknown fields ignored", `{"colour":"blue"}`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, newRequest(t, http.MethodPost, ti.URL+"/clients/svc-a/credentials", jsonType, tt.body, admin...))
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.status, tt.wantStatus, resp.body)
			}
			if tt.wantLoc == "" {
				return
			}
			var body struct {
				Detail []struct {
					Loc  []any  `json:"loc"`
					Msg  string `json:"msg"`
					Type string `json:"type"`
				} `json:"detail"`
			}
			resp.json(t, &body)
			if len(body.Detail) == 0 {
				t.Fatalf("422 without detail entries: %s", resp.body)
			}
			if got := joinLoc(body.Detail[0].Loc); got != tt.wantLoc || body.Detail[0].Msg == "" || body.Detail[0].Type == "" {
				t.Errorf("detail[0] = %+v, want loc %s with msg and type", body.Detail[0], tt.wantLoc)
			}
		})
	}
}

func joinLoc(loc []any) string {
	parts := make([]string, len(loc))
	for i, part := range loc {
		switch v := part.(type) {
		case string:
			parts[i] = v
		case float64:
			parts[i] = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return strings.Join(parts, ".")
}

func TestSelfServiceCredentialLimits(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	expiresAt := time.Now().Add(10 * 24 * time.Hour).UTC().Truncate(time.Microsecond)
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "credentials:write read", permissions: [][]string{{"a", "reader"}}, expiresAt: &expiresAt})
	token := ti.accessToken(t, "svc-a", value)

	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantDays   float64
	}{
		{"scope the caller lacks", `{"scopes":["admin"]}`, 403, 0},
		{"permission the caller lacks", `{"permissions":[["b","writer"]]}`, 403, 0},
		{"held permission", `{"permissions":[["a","reader"]]}`, 200, 10},
		{"default capped a little by the caller's", `{"expires_in_days":10}`, 200, 10},
		{"longer than the caller's credential", `{"expires_in_days":365}`, 200, 10},
		{"no expiry capped by the caller's", `{"expires_in_days":null}`, 200, 10},
		{"shorter than the caller's", `{"expires_in_days":2}`, 200, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := do(t, newRequest(t, http.MethodPost, ti.URL+"/clients/svc-a/credentials", jsonType, tt.body, bearer(token)...))
			if resp.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.status, tt.wantStatus, resp.body)
			}
			if tt.wantStatus != 200 {
				return
			}
			if got := resp.object(t)["expires_in_days"]; got != tt.wantDays {
				t.Errorf("expires_in_days = %v, want %v", got, tt.wantDays)
			}
		})
	}
}

func TestAdminTokenGuessesAreLimited(t *testing.T) {
	ti := startIssuer(t, "sqlite", withAuthBurst(5))

	var last response
	for i := range 6 {
		last = do(t, newRequest(t, http.MethodGet, ti.URL+"/clients/svc-a/credentials", "", "", "X-Admin-Token", "guess-"+strconv.Itoa(i)))
		if last.status == http.StatusTooManyRequests {
			break
		}
	}
	if last.status != http.StatusTooManyRequests || last.header.Get("Retry-After") == "" {
		t.Fatalf("after repeated wrong admin tokens: status %d, Retry-After %q, want 429 with Retry-After", last.status, last.header.Get("Retry-After"))
	}

	resp := do(t, newRequest(t, http.MethodGet, ti.URL+"/clients/svc-a/credentials", "", "", "X-Admin-Token", testAdminToken))
	if resp.status != http.StatusTooManyRequests {
		t.Errorf("right admin token while blocked: status %d, want 429 until the limit drains", resp.status)
	}
}

// repeatedJSON joins count copies of format, each formatted with its index,
// with commas.
func repeatedJSON(format string, count int) string {
	items := make([]string, count)
	for i := range items {
		items[i] = fmt.Sprintf(format, i)
	}
	return strings.Join(items, ",")
}

func TestActiveCredentialCap(t *testing.T) {
	ti := startIssuer(t, "sqlite", withCredentialCap(2))
	admin := []string{"X-Admin-Token", testAdminToken}
	create := func() response {
		return do(t, newRequest(t, http.MethodPost, ti.URL+"/clients/svc-a/credentials", jsonType, "{}", admin...))
	}

	first, second := create(), create()
	if first.status != http.StatusOK || second.status != http.StatusOK {
		t.Fatalf("first two creations: status %d and %d, want 200", first.status, second.status)
	}
	if third := create(); third.status != http.StatusConflict {
		t.Fatalf("third creation over a cap of 2: status %d, body %s, want 409", third.status, third.body)
	}

	revoke := do(t, newRequest(t, http.MethodDelete, ti.URL+"/clients/svc-a/credentials/"+first.object(t)["credential_id"].(string), "", "", admin...))
	if revoke.status != http.StatusOK {
		t.Fatalf("revoke: status %d", revoke.status)
	}
	if again := create(); again.status != http.StatusOK {
		t.Errorf("creation after a revocation: status %d, body %s, want 200", again.status, again.body)
	}
}
