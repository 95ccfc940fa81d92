package api_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// fakeClock is a settable clock shared by concurrent requests.
type fakeClock struct{ nanos atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.nanos.Store(time.Now().UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.nanos.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.nanos.Add(int64(d)) }

// refreshForm is a refresh request of client svc-a authenticated with
// secret.
func refreshForm(token, secret string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "client_id": {"svc-a"}, "client_secret": {secret}}
}

func TestRefreshConcurrentAndReuse(t *testing.T) {
	eachBackend(t, testRefreshConcurrentAndReuse)
}

// testRefreshConcurrentAndReuse fires 50 parallel refreshes of one token:
// inside the grace period all succeed with one new pair and no reuse alarm.
// After the grace period a reuse revokes the whole family.
func testRefreshConcurrentAndReuse(t *testing.T, backend string) {
	clock := newFakeClock()
	ti := startIssuer(t, backend, withClock(clock.Now))
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "read offline_access"})
	first := ti.token(t, "svc-a", value)["refresh_token"].(string)

	const parallel = 50
	results := make([]response, parallel)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range parallel {
		wg.Go(func() {
			<-start
			results[i] = ti.postToken(t, refreshForm(first, value))
		})
	}
	close(start)
	wg.Wait()

	pairs := map[[2]string]int{}
	for i, result := range results {
		if result.status != http.StatusOK {
			t.Fatalf("refresh %d: status %d, body %s", i, result.status, result.body)
		}
		body := result.object(t)
		pairs[[2]string{body["access_token"].(string), body["refresh_token"].(string)}]++
	}
	if len(pairs) != 1 {
		t.Fatalf("%d parallel refreshes returned %d different pairs, want 1", parallel, len(pairs))
	}
	assertAuditCount(t, ti.Store, "refresh.reuse_detected", 0)

	var second string
	for pair := range pairs {
		second = pair[1]
	}
	third := ti.postToken(t, refreshForm(second, value))
	if third.status != http.StatusOK {
		t.Fatalf("rotating the new token: status %d, body %s", third.status, third.body)
	}
	thirdToken := third.object(t)["refresh_token"].(string)

	clock.Advance(6 * time.Second)
	reuse := ti.postToken(t, refreshForm(first, value))
	if reuse.status != http.StatusBadRequest || reuse.object(t)["error"] != "invalid_grant" {
		t.Fatalf("reuse after grace: status %d, body %s, want 400 invalid_grant", reuse.status, reuse.body)
	}
	assertAuditCount(t, ti.Store, "refresh.reuse_detected", 1)

	revoked := ti.postToken(t, refreshForm(thirdToken, value))
	if revoked.status != http.StatusBadRequest {
		t.Errorf("newest token of a revoked family: status %d, want 400", revoked.status)
	}
}

func TestRefreshDiesWithCredential(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	credentialID, value := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "offline_access"})
	_, otherValue := ti.createCredential(t, credentialSpec{clientID: "svc-a"})
	refresh := ti.token(t, "svc-a", value)["refresh_token"].(string)

	if err := ti.Store.RevokeCredential(context.Background(), "svc-a", credentialID, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	resp := ti.postToken(t, refreshForm(refresh, otherValue))
	if resp.status != http.StatusBadRequest || resp.object(t)["error"] != "invalid_grant" {
		t.Errorf("refresh after revocation: status %d, body %s, want invalid_grant", resp.status, resp.body)
	}
}

func TestRefreshRejects(t *testing.T) {
	ti := startIssuer(t, "sqlite")
	_, value := ti.createCredential(t, credentialSpec{clientID: "svc-a", scopes: "offline_access read"})
	refresh := ti.token(t, "svc-a", value, "scope", "offline_access")["refresh_token"].(string)
	_, otherValue := ti.createCredential(t, credentialSpec{clientID: "svc-b", scopes: "offline_access"})

	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"no client authentication", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {"svc-a"}}, 400, "invalid_request"},
		{"wrong secret", refreshForm(refresh, otherValue), 401, "invalid_client"},
		{"other client's credentials", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {"svc-b"}, "client_secret": {otherValue}}, 400, "invalid_grant"},
		{"scope beyond the grant", withScope(refreshForm(refresh, value), "read"), 400, "invalid_scope"},
		{"unknown token", refreshForm(ti.Secrets.NewRefreshToken(), value), 400, "invalid_grant"},
		{"truncated token", refreshForm(refresh[:len(refresh)-2], value), 400, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := ti.postToken(t, tt.form)
			if resp.status != tt.wantStatus || resp.object(t)["error"] != tt.wantError {
				t.Errorf("status %d, body %s, want %d %s", resp.status, resp.body, tt.wantStatus, tt.wantError)
			}
		})
	}
}

func assertAuditCount(t *testing.T, st store.Store, action string, want int) {
	t.Helper()
	events, err := st.ListAudit(context.Background(), store.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != want {
		t.Errorf("%d %s audit events, want %d", len(events), action, want)
	}
}

func withScope(form url.Values, scopes string) url.Values {
	form.Set("scope", scopes)
	return form
}
