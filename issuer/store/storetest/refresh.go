package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// grace is the grace period the refresh tests pass to RotateRefreshToken.
const grace = time.Minute

// mustCreateFamily stores credential "cred-1" of client "svc-a" and the
// first refresh token of a family issued from it, with hash "parent".
func mustCreateFamily(t *testing.T, s store.Store) (store.Credential, store.RefreshToken) {
	t.Helper()
	cred := newCredential("cred-1", "svc-a")
	mustCreateCredential(t, s, cred)
	parent := newRefreshToken("parent", cred)
	mustCreateRefreshToken(t, s, parent)
	return cred, parent
}

func testRefresh(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("create and rotate", func(t *testing.T) {
		s, ctx := open(t, newStore)
		_, parent := mustCreateFamily(t, s)

		child := newChild("child", parent, now)
		child.Scopes = []string{"read"}
		rotation, err := s.RotateRefreshToken(ctx, parent.Hash, child, now, grace)
		checkErr(t, "RotateRefreshToken", err, nil)
		checkEqual(t, "rotation", rotation, store.Rotation{Token: stored(child, parent)})

		spent := parent
		spent.UsedAt = ptr(now)
		checkEqual(t, "spent parent", mustGetRefreshToken(t, s, parent.Hash), spent)
		checkEqual(t, "stored child", mustGetRefreshToken(t, s, child.Hash), stored(child, parent))

		grandchild := newChild("grandchild", rotation.Token, now.Add(time.Minute))
		rotation, err = s.RotateRefreshToken(ctx, child.Hash, grandchild, now.Add(time.Minute), grace)
		checkErr(t, "RotateRefreshToken of the child", err, nil)
		checkEqual(t, "second rotation", rotation, store.Rotation{Token: stored(grandchild, stored(child, parent))})
	})

	t.Run("get", func(t *testing.T) {
		s, ctx := open(t, newStore)
		cred := newCredential("cred-1", "svc-a")
		mustCreateCredential(t, s, cred)
		withAccessToken := newRefreshToken("with-access-token", cred)
		withoutAccessToken := newRefreshToken("without-access-token", cred)
		withoutAccessToken.SealedAccessToken = nil
		withoutAccessToken.Scopes = nil
		expired := newRefreshToken("expired", cred)
		expired.ExpiresAt = now.Add(-time.Hour)
		for _, token := range []store.RefreshToken{withAccessToken, withoutAccessToken, expired} {
			mustCreateRefreshToken(t, s, token)
		}

		checkEqual(t, "token", mustGetRefreshToken(t, s, withAccessToken.Hash), withAccessToken)
		want := withoutAccessToken
		want.Scopes = []string{}
		checkEqual(t, "token without an access token or scopes", mustGetRefreshToken(t, s, withoutAccessToken.Hash), want)
		checkEqual(t, "expired token", mustGetRefreshToken(t, s, expired.Hash), expired)

		_, err := s.GetRefreshToken(ctx, []byte("missing"))
		checkErr(t, "GetRefreshToken of an unknown hash", err, store.ErrNotFound)
	})

	t.Run("create ignores ParentHash", func(t *testing.T) {
		s, _ := open(t, newStore)
		cred := newCredential("cred-1", "svc-a")
		mustCreateCredential(t, s, cred)
		token := newRefreshToken("token", cred)
		token.ParentHash = []byte("not-a-parent")
		mustCreateRefreshToken(t, s, token)

		token.ParentHash = nil
		checkEqual(t, "token", mustGetRefreshToken(t, s, token.Hash), token)
	})

	t.Run("create existing hash is conflict", func(t *testing.T) {
		s, ctx := open(t, newStore)
		cred := newCredential("cred-1", "svc-a")
		mustCreateCredential(t, s, cred)
		mustCreateRefreshToken(t, s, newRefreshToken("token", cred))

		err := s.CreateRefreshToken(ctx, newRefreshToken("token", cred))
		checkErr(t, "CreateRefreshToken of an existing hash", err, store.ErrConflict)
	})

	t.Run("create for unknown or revoked credential is not found", func(t *testing.T) {
		tests := []struct {
			name         string
			credentialID string
			clientID     string
		}{
			{name: "unknown credential", credentialID: "missing", clientID: "svc-a"},
			{name: "credential of another client", credentialID: "cred-1", clientID: "svc-b"},
			{name: "revoked credential", credentialID: "cred-revoked", clientID: "svc-a"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, ctx := open(t, newStore)
				mustCreateCredential(t, s, newCredential("cred-1", "svc-a"))
				mustCreateCredential(t, s, newCredential("cred-revoked", "svc-a"))
				if err := s.RevokeCredential(ctx, "svc-a", "cred-revoked", time.Now().UTC()); err != nil {
					t.Fatal(err)
				}
				mustCreateClient(t, s, newClient("svc-b"))

				token := newRefreshToken("token", store.Credential{ID: tt.credentialID, ClientID: tt.clientID})
				err := s.CreateRefreshToken(ctx, token)
				checkErr(t, "CreateRefreshToken", err, store.ErrNotFound)
			})
		}
	})

	t.Run("rotate unknown is not found", func(t *testing.T) {
		s, ctx := open(t, newStore)
		cred := newCredential("cred-1", "svc-a")
		mustCreateCredential(t, s, cred)
		mustCreateRefreshToken(t, s, newRefreshToken("parent", cred))

		unknown := newRefreshToken("missing", cred)
		_, err := s.RotateRefreshToken(ctx, unknown.Hash, newChild("child", unknown, now), now, grace)
		checkErr(t, "RotateRefreshToken of an unknown hash", err, store.ErrNotFound)
	})

	t.Run("replay within grace returns the same child", func(t *testing.T) {
		s, ctx := open(t, newStore)
		_, parent := mustCreateFamily(t, s)
		first := mustRotate(t, s, parent, newChild("first", parent, now), now)

		// The last instant inside the grace period, which is "less than
		// grace ago" at microsecond precision.
		replayAt := now.Add(grace - time.Microsecond)
		rotation, err := s.RotateRefreshToken(ctx, parent.Hash, newChild("second", parent, replayAt), replayAt, grace)
		checkErr(t, "RotateRefreshToken within the grace period", err, nil)
		checkEqual(t, "replayed rotation", rotation, store.Rotation{Token: first.Token, Replayed: true})

		_, err = s.RotateRefreshToken(ctx, []byte("second"), newChild("third", parent, replayAt), replayAt, grace)
		checkErr(t, "RotateRefreshToken of the child a replay discarded", err, store.ErrNotFound)
		mustRotate(t, s, first.Token, newChild("third", first.Token, replayAt), replayAt)
	})

	t.Run("reuse after grace revokes the family", func(t *testing.T) {
		s, ctx := open(t, newStore)
		cred, parent := mustCreateFamily(t, s)
		first := mustRotate(t, s, parent, newChild("first", parent, now), now)
		second := mustRotate(t, s, first.Token, newChild("second", first.Token, now), now)
		otherFamily := newRefreshToken("other-family", cred)
		mustCreateRefreshToken(t, s, otherFamily)

		reuseAt := now.Add(grace)
		_, err := s.RotateRefreshToken(ctx, parent.Hash, newChild("stolen", parent, reuseAt), reuseAt, grace)
		checkErr(t, "RotateRefreshToken after the grace period", err, store.ErrRefreshReused)

		for _, token := range []store.RefreshToken{parent, first.Token, second.Token} {
			got := mustGetRefreshToken(t, s, token.Hash)
			if got.RevokedAt == nil || !got.RevokedAt.Equal(reuseAt) {
				t.Errorf("family member %q has RevokedAt = %v, want %v", token.Hash, got.RevokedAt, reuseAt)
			}
			_, err := s.RotateRefreshToken(ctx, token.Hash, newChild("after-reuse", token, reuseAt), reuseAt, grace)
			checkErr(t, fmt.Sprintf("RotateRefreshToken of family member %q", token.Hash), err, store.ErrRefreshInactive)
		}
		_, err = s.GetRefreshToken(ctx, []byte("stolen"))
		checkErr(t, "GetRefreshToken of the child the reuse presented", err, store.ErrNotFound)
		checkEqual(t, "token of another family", mustGetRefreshToken(t, s, otherFamily.Hash), otherFamily)
		mustRotate(t, s, otherFamily, newChild("other-child", otherFamily, reuseAt), reuseAt)

		events := mustListAudit(t, s, store.AuditFilter{Action: "refresh.reuse_detected"})
		if len(events) != 1 {
			t.Fatalf("ListAudit returned %d reuse events, want 1: %+v", len(events), events)
		}
		event := events[0]
		if event.ClientID != cred.ClientID || event.CredentialID != cred.ID {
			t.Errorf("reuse event names client %q and credential %q, want %q and %q", event.ClientID, event.CredentialID, cred.ClientID, cred.ID)
		}
		if !event.Time.Equal(reuseAt) {
			t.Errorf("reuse event time = %v, want %v", event.Time, reuseAt)
		}
	})

	t.Run("rotate inactive", func(t *testing.T) {
		tests := []struct {
			name       string
			credential func(cred *store.Credential)
			token      func(token *store.RefreshToken)
			// prepare runs after the credential and the token are stored.
			prepare func(t *testing.T, s store.Store, token store.RefreshToken)
		}{
			{
				name:  "token expired",
				token: func(token *store.RefreshToken) { token.ExpiresAt = now },
			},
			{
				name: "token revoked with its family",
				prepare: func(t *testing.T, s store.Store, token store.RefreshToken) {
					spentAt := now.Add(-time.Hour)
					mustRotate(t, s, token, newChild("child", token, spentAt), spentAt)
					reuseAt := now.Add(-time.Minute)
					_, err := s.RotateRefreshToken(t.Context(), token.Hash, newChild("stolen", token, reuseAt), reuseAt, grace)
					checkErr(t, "RotateRefreshToken after the grace period", err, store.ErrRefreshReused)
				},
			},
			{
				name: "credential revoked",
				prepare: func(t *testing.T, s store.Store, token store.RefreshToken) {
					err := s.RevokeCredential(t.Context(), token.ClientID, token.CredentialID, now.Add(-time.Minute))
					checkErr(t, "RevokeCredential", err, nil)
				},
			},
			{
				name:       "credential expired",
				credential: func(cred *store.Credential) { cred.ExpiresAt = ptr(now) },
			},
			{
				name: "client disabled",
				prepare: func(t *testing.T, s store.Store, token store.RefreshToken) {
					checkErr(t, "SetClientDisabled", s.SetClientDisabled(t.Context(), token.ClientID, true), nil)
				},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, ctx := open(t, newStore)
				cred := newCredential("cred-1", "svc-a")
				if tt.credential != nil {
					tt.credential(&cred)
				}
				mustCreateCredential(t, s, cred)
				parent := newRefreshToken("parent", cred)
				if tt.token != nil {
					tt.token(&parent)
				}
				mustCreateRefreshToken(t, s, parent)
				if tt.prepare != nil {
					tt.prepare(t, s, parent)
				}

				_, err := s.RotateRefreshToken(ctx, parent.Hash, newChild("new-child", parent, now), now, grace)
				checkErr(t, "RotateRefreshToken", err, store.ErrRefreshInactive)
			})
		}
	})

	t.Run("replay of inactive credential is inactive", func(t *testing.T) {
		s, ctx := open(t, newStore)
		_, parent := mustCreateFamily(t, s)
		mustRotate(t, s, parent, newChild("child", parent, now), now)
		checkErr(t, "SetClientDisabled", s.SetClientDisabled(ctx, "svc-a", true), nil)

		_, err := s.RotateRefreshToken(ctx, parent.Hash, newChild("replay", parent, now), now, grace)
		checkErr(t, "RotateRefreshToken within the grace period of a disabled client", err, store.ErrRefreshInactive)
	})

	t.Run("concurrent rotations yield one child", func(t *testing.T) {
		const callers = 50
		s, ctx := open(t, newStore)
		_, parent := mustCreateFamily(t, s)

		rotations := make([]store.Rotation, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				child := newChild(fmt.Sprintf("child-%02d", i), parent, now)
				rotations[i], errs[i] = s.RotateRefreshToken(ctx, parent.Hash, child, now, grace)
			})
		}
		wg.Wait()

		var winners []store.Rotation
		for i, err := range errs {
			checkErr(t, fmt.Sprintf("RotateRefreshToken by caller %d", i), err, nil)
			if !rotations[i].Replayed {
				winners = append(winners, rotations[i])
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d of %d concurrent rotations stored a child, want exactly 1", len(winners), callers)
		}
		for i, rotation := range rotations {
			checkEqual(t, fmt.Sprintf("token of caller %d", i), rotation.Token, winners[0].Token)
		}
		for i := range callers {
			hash := fmt.Sprintf("child-%02d", i)
			_, err := s.GetRefreshToken(ctx, []byte(hash))
			if string(winners[0].Token.Hash) == hash {
				checkErr(t, "GetRefreshToken of the stored child", err, nil)
			} else {
				checkErr(t, "GetRefreshToken of a discarded child", err, store.ErrNotFound)
			}
		}
	})

	t.Run("revocation during rotations leaves no live token", func(t *testing.T) {
		const chain = 40
		s, ctx := open(t, newStore)
		cred, parent := mustCreateFamily(t, s)

		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			if err := s.RevokeCredential(ctx, cred.ClientID, cred.ID, now); err != nil {
				t.Errorf("RevokeCredential failed: %v", err)
			}
		})

		stored := [][]byte{parent.Hash}
		current := parent
		close(start)
		for i := range chain {
			child := newChild(fmt.Sprintf("chain-%02d", i), current, now)
			rotation, err := s.RotateRefreshToken(ctx, current.Hash, child, now, grace)
			if err != nil {
				checkErr(t, "RotateRefreshToken after revocation", err, store.ErrRefreshInactive)
				break
			}
			stored = append(stored, rotation.Token.Hash)
			current = rotation.Token
		}
		wg.Wait()

		for _, hash := range stored {
			token, err := s.GetRefreshToken(ctx, hash)
			checkErr(t, "GetRefreshToken of a stored token", err, nil)
			if token.RevokedAt == nil {
				t.Errorf("token %s of the revoked credential is not revoked", hash)
			}
		}
	})
}
