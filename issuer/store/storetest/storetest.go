// Package storetest is the conformance suite for store.Store backends.
//
// Each backend's tests call Run with a function that opens an empty store,
// so every backend is held to the same rules: the doc comments of
// store.Store, plus the conventions listed on Run.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// Run runs the conformance suite. newStore must return an empty, migrated
// store and close it in t.Cleanup.
//
// Besides the store.Store contract, the suite holds backends to these
// conventions, so that callers see the same values whichever backend runs:
//   - times read back are in UTC, truncated to the microsecond;
//   - scopes and permissions stored as nil read back as empty lists, and
//     list methods return empty lists rather than nil;
//   - a client that CreateCredential registers is enabled and created at
//     the credential's CreatedAt;
//   - CreateRefreshToken stores no ParentHash. It returns ErrNotFound
//     unless the token's credential exists and belongs to the token's
//     client, and ErrConflict for a hash that exists;
//   - a RefreshToken stored by RotateRefreshToken takes FamilyID,
//     ParentHash, CredentialID and ClientID from its parent;
//   - an AuditEvent with a zero Time is stored with the time of the call.
//     The suite only checks that such a time is set.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("clients", func(t *testing.T) { testClients(t, newStore) })
	t.Run("credentials", func(t *testing.T) { testCredentials(t, newStore) })
	t.Run("refresh", func(t *testing.T) { testRefresh(t, newStore) })
	t.Run("signing keys", func(t *testing.T) { testSigningKeys(t, newStore) })
	t.Run("lock", func(t *testing.T) { testLock(t, newStore) })
	t.Run("audit", func(t *testing.T) { testAudit(t, newStore) })
	t.Run("times", func(t *testing.T) { testTimes(t, newStore) })
}

// now is the instant the suite treats as the present. It is in UTC at
// microsecond precision, so values built from it read back unchanged.
var now = time.Date(2026, 8, 21, 9, 14, 2, 118443000, time.UTC)

func ptr[T any](v T) *T { return &v }

func newClient(id string) store.Client {
	return store.Client{ID: id, CreatedAt: now.Add(-48 * time.Hour)}
}

func newCredential(id, clientID string) store.Credential {
	return store.Credential{
		ID:          id,
		ClientID:    clientID,
		Type:        "interactive",
		SecretHash:  []byte("secret-hash-of-" + id),
		Scopes:      []string{"offline_access", "read", "write"},
		Permissions: [][]string{{"analytics.*", "reader"}, {"billing", "admin"}},
		CreatedAt:   now.Add(-time.Hour),
		ExpiresAt:   ptr(now.Add(90 * 24 * time.Hour)),
	}
}

// newRefreshToken returns the first token of a family issued from cred.
func newRefreshToken(hash string, cred store.Credential) store.RefreshToken {
	return store.RefreshToken{
		Hash:              []byte(hash),
		FamilyID:          "family-" + hash,
		CredentialID:      cred.ID,
		ClientID:          cred.ClientID,
		Scopes:            []string{"offline_access", "read"},
		SealedAccessToken: []byte("sealed-access-token-" + hash),
		CreatedAt:         now.Add(-time.Minute),
		ExpiresAt:         now.Add(24 * time.Hour),
	}
}

// newChild returns a replacement for parent as the issuer would build it,
// with the family fields left for the store to fill.
func newChild(hash string, parent store.RefreshToken, at time.Time) store.RefreshToken {
	return store.RefreshToken{
		Hash:              []byte(hash),
		CredentialID:      parent.CredentialID,
		ClientID:          parent.ClientID,
		Scopes:            parent.Scopes,
		SealedAccessToken: []byte("sealed-access-token-" + hash),
		CreatedAt:         at,
		ExpiresAt:         at.Add(24 * time.Hour),
	}
}

// stored returns child as RotateRefreshToken stores it under parent.
func stored(child, parent store.RefreshToken) store.RefreshToken {
	child.FamilyID = parent.FamilyID
	child.ParentHash = parent.Hash
	child.CredentialID = parent.CredentialID
	child.ClientID = parent.ClientID
	return child
}

func newSigningKey(id string, createdAt time.Time) store.SigningKey {
	return store.SigningKey{
		ID:               id,
		Algorithm:        "ES256",
		SealedPrivateKey: []byte("sealed-private-key-" + id),
		PublicJWK:        []byte(`{"kty":"EC","crv":"P-256","kid":"` + id + `"}`),
		CreatedAt:        createdAt,
		ActivatesAt:      createdAt.Add(time.Hour),
	}
}

func newAuditEvent(action, clientID string, at time.Time) store.AuditEvent {
	return store.AuditEvent{
		Time:     at,
		Actor:    "admin-token",
		Action:   action,
		ClientID: clientID,
		Detail:   action + " for " + clientID,
	}
}

// open returns a new empty store and a context that ends with the test.
func open(t *testing.T, newStore func(t *testing.T) store.Store) (store.Store, context.Context) {
	t.Helper()
	return newStore(t), t.Context()
}

func mustCreateClient(t *testing.T, s store.Store, client store.Client) {
	t.Helper()
	if err := s.CreateClient(t.Context(), client); err != nil {
		t.Fatalf("CreateClient(%q) failed: %v", client.ID, err)
	}
}

// mustCreateCredential stores cred, creating its client if needed.
func mustCreateCredential(t *testing.T, s store.Store, cred store.Credential) {
	t.Helper()
	opts := store.CreateCredentialOptions{RegisterClient: true}
	if err := s.CreateCredential(t.Context(), cred, opts); err != nil {
		t.Fatalf("CreateCredential(%q) failed: %v", cred.ID, err)
	}
}

func mustCreateRefreshToken(t *testing.T, s store.Store, token store.RefreshToken) {
	t.Helper()
	if err := s.CreateRefreshToken(t.Context(), token); err != nil {
		t.Fatalf("CreateRefreshToken(%q) failed: %v", token.Hash, err)
	}
}

func mustGetRefreshToken(t *testing.T, s store.Store, hash []byte) store.RefreshToken {
	t.Helper()
	got, err := s.GetRefreshToken(t.Context(), hash)
	if err != nil {
		t.Fatalf("GetRefreshToken(%q) failed: %v", hash, err)
	}
	return got
}

func mustGetCredential(t *testing.T, s store.Store, id string) store.Credential {
	t.Helper()
	got, err := s.GetCredential(t.Context(), id)
	if err != nil {
		t.Fatalf("GetCredential(%q) failed: %v", id, err)
	}
	return got
}

// mustRotate rotates parent into child at the given time and fails the test
// unless a new child was stored.
func mustRotate(t *testing.T, s store.Store, parent, child store.RefreshToken, at time.Time) store.Rotation {
	t.Helper()
	rotation, err := s.RotateRefreshToken(t.Context(), parent.Hash, child, at, grace)
	if err != nil {
		t.Fatalf("RotateRefreshToken(%q) failed: %v", parent.Hash, err)
	}
	if rotation.Replayed {
		t.Fatalf("RotateRefreshToken(%q) replayed an earlier rotation, want a new child", parent.Hash)
	}
	return rotation
}

func mustListAudit(t *testing.T, s store.Store, filter store.AuditFilter) []store.AuditEvent {
	t.Helper()
	events, err := s.ListAudit(t.Context(), filter)
	if err != nil {
		t.Fatalf("ListAudit(%+v) failed: %v", filter, err)
	}
	return events
}

// checkErr fails the test unless errors.Is(err, want), or err is nil when
// want is nil.
func checkErr(t *testing.T, call string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s failed: %v", call, err)
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s returned error %v, want %v", call, err, want)
	}
}

// checkEqual compares got and want through their JSON encodings and prints
// both on failure. The encoding writes times in RFC 3339 with nanoseconds
// and zone, and nil lists as null but empty ones as [], so the comparison
// checks the conventions listed on Run as well as the values.
func checkEqual(t *testing.T, name string, got, want any) {
	t.Helper()
	gotJSON, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("encode %s: %v", name, err)
	}
	wantJSON, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("encode expected %s: %v", name, err)
	}
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("%s differs\n got: %s\nwant: %s", name, gotJSON, wantJSON)
	}
}
