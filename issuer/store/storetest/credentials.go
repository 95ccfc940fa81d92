package storetest

import (
	"testing"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

func testCredentials(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("create and get", func(t *testing.T) {
		s, ctx := open(t, newStore)
		mustCreateClient(t, s, newClient("svc-a"))
		want := newCredential("cred-1", "svc-a")
		want.LastUsedAt = ptr(now.Add(-time.Minute))

		err := s.CreateCredential(ctx, want, store.CreateCredentialOptions{})
		checkErr(t, "CreateCredential", err, nil)
		checkEqual(t, "credential", mustGetCredential(t, s, "cred-1"), want)
	})

	t.Run("create without expiry, scopes or permissions", func(t *testing.T) {
		s, ctx := open(t, newStore)
		mustCreateClient(t, s, newClient("svc-a"))
		cred := newCredential("cred-1", "svc-a")
		cred.ExpiresAt, cred.Scopes, cred.Permissions = nil, nil, nil

		err := s.CreateCredential(ctx, cred, store.CreateCredentialOptions{})
		checkErr(t, "CreateCredential", err, nil)
		want := cred
		want.Scopes, want.Permissions = []string{}, [][]string{}
		checkEqual(t, "credential", mustGetCredential(t, s, "cred-1"), want)
	})

	t.Run("create existing id is conflict", func(t *testing.T) {
		s, ctx := open(t, newStore)
		first := newCredential("cred-1", "svc-a")
		mustCreateCredential(t, s, first)
		mustCreateClient(t, s, newClient("svc-b"))

		second := newCredential("cred-1", "svc-b")
		second.Scopes = []string{"admin"}
		err := s.CreateCredential(ctx, second, store.CreateCredentialOptions{})
		checkErr(t, "CreateCredential of an existing id", err, store.ErrConflict)
		checkEqual(t, "credential after the conflict", mustGetCredential(t, s, "cred-1"), first)
	})

	t.Run("create for unknown client is not found", func(t *testing.T) {
		s, ctx := open(t, newStore)
		err := s.CreateCredential(ctx, newCredential("cred-1", "missing"), store.CreateCredentialOptions{})
		checkErr(t, "CreateCredential for an unknown client", err, store.ErrNotFound)

		_, err = s.GetCredential(ctx, "cred-1")
		checkErr(t, "GetCredential after the failed create", err, store.ErrNotFound)
		_, err = s.GetClient(ctx, "missing")
		checkErr(t, "GetClient after the failed create", err, store.ErrNotFound)
	})

	t.Run("create with RegisterClient", func(t *testing.T) {
		s, ctx := open(t, newStore)
		opts := store.CreateCredentialOptions{RegisterClient: true}
		first := newCredential("cred-1", "svc-a")
		err := s.CreateCredential(ctx, first, opts)
		checkErr(t, "CreateCredential registering a new client", err, nil)

		client, err := s.GetClient(ctx, "svc-a")
		checkErr(t, "GetClient of the registered client", err, nil)
		checkEqual(t, "registered client", client, store.Client{ID: "svc-a", CreatedAt: first.CreatedAt})

		err = s.CreateCredential(ctx, newCredential("cred-2", "svc-a"), opts)
		checkErr(t, "CreateCredential registering an existing client", err, nil)
		checkEqual(t, "second credential", mustGetCredential(t, s, "cred-2"), newCredential("cred-2", "svc-a"))
	})

	t.Run("get unknown is not found", func(t *testing.T) {
		s, ctx := open(t, newStore)
		_, err := s.GetCredential(ctx, "missing")
		checkErr(t, "GetCredential of an unknown id", err, store.ErrNotFound)
	})

	t.Run("get fills ClientDisabled", func(t *testing.T) {
		s, ctx := open(t, newStore)
		mustCreateCredential(t, s, newCredential("cred-1", "svc-a"))

		for _, disabled := range []bool{true, false} {
			err := s.SetClientDisabled(ctx, "svc-a", disabled)
			checkErr(t, "SetClientDisabled", err, nil)
			got := mustGetCredential(t, s, "cred-1")
			if got.ClientDisabled != disabled {
				t.Errorf("with the client disabled %t, ClientDisabled = %t", disabled, got.ClientDisabled)
			}
		}
	})

	t.Run("get returns revoked and expired", func(t *testing.T) {
		s, ctx := open(t, newStore)
		expired := newCredential("expired", "svc-a")
		expired.ExpiresAt = ptr(now.Add(-time.Second))
		mustCreateCredential(t, s, expired)
		revoked := newCredential("revoked", "svc-a")
		mustCreateCredential(t, s, revoked)
		err := s.RevokeCredential(ctx, "svc-a", "revoked", now)
		checkErr(t, "RevokeCredential", err, nil)

		checkEqual(t, "expired credential", mustGetCredential(t, s, "expired"), expired)
		revoked.RevokedAt = ptr(now)
		checkEqual(t, "revoked credential", mustGetCredential(t, s, "revoked"), revoked)
	})

	t.Run("list active", func(t *testing.T) {
		s, ctx := open(t, newStore)
		older := newCredential("older", "svc-a")
		older.CreatedAt = now.Add(-2 * time.Hour)
		older.ExpiresAt = nil
		newer := newCredential("newer", "svc-a")
		expiresNow := newCredential("expires-now", "svc-a")
		expiresNow.ExpiresAt = ptr(now)
		expired := newCredential("expired", "svc-a")
		expired.ExpiresAt = ptr(now.Add(-time.Microsecond))
		revoked := newCredential("revoked", "svc-a")
		otherClient := newCredential("other-client", "svc-b")
		// Created newest first, so that insertion order cannot pass for
		// oldest-first order.
		for _, cred := range []store.Credential{newer, older, expiresNow, expired, revoked, otherClient} {
			mustCreateCredential(t, s, cred)
		}
		err := s.RevokeCredential(ctx, "svc-a", "revoked", now.Add(-time.Minute))
		checkErr(t, "RevokeCredential", err, nil)

		got, err := s.ListActiveCredentials(ctx, "svc-a", now)
		checkErr(t, "ListActiveCredentials", err, nil)
		checkEqual(t, "active credentials", got, []store.Credential{older, newer})
	})

	t.Run("list active fills ClientDisabled", func(t *testing.T) {
		s, ctx := open(t, newStore)
		mustCreateCredential(t, s, newCredential("cred-1", "svc-a"))
		err := s.SetClientDisabled(ctx, "svc-a", true)
		checkErr(t, "SetClientDisabled", err, nil)

		got, err := s.ListActiveCredentials(ctx, "svc-a", now)
		checkErr(t, "ListActiveCredentials", err, nil)
		want := newCredential("cred-1", "svc-a")
		want.ClientDisabled = true
		checkEqual(t, "active credentials", got, []store.Credential{want})
	})

	t.Run("list active of unknown client is not found", func(t *testing.T) {
		s, ctx := open(t, newStore)
		_, err := s.ListActiveCredentials(ctx, "missing", now)
		checkErr(t, "ListActiveCredentials of an unknown client", err, store.ErrNotFound)
	})

	t.Run("list active without credentials is empty", func(t *testing.T) {
		s, ctx := open(t, newStore)
		mustCreateClient(t, s, newClient("svc-a"))
		got, err := s.ListActiveCredentials(ctx, "svc-a", now)
		checkErr(t, "ListActiveCredentials", err, nil)
		checkEqual(t, "active credentials", got, []store.Credential{})
	})

	t.Run("revoke", func(t *testing.T) {
		s, ctx := open(t, newStore)
		mustCreateCredential(t, s, newCredential("cred-1", "svc-a"))
		mustCreateCredential(t, s, newCredential("cred-2", "svc-a"))

		err := s.RevokeCredential(ctx, "svc-a", "cred-1", now)
		checkErr(t, "RevokeCredential", err, nil)
		want := newCredential("cred-1", "svc-a")
		want.RevokedAt = ptr(now)
		checkEqual(t, "revoked credential", mustGetCredential(t, s, "cred-1"), want)
		checkEqual(t, "other credential", mustGetCredential(t, s, "cred-2"), newCredential("cred-2", "svc-a"))
	})

	t.Run("revoke is not found", func(t *testing.T) {
		tests := []struct {
			name     string
			clientID string
			id       string
		}{
			{name: "unknown credential", clientID: "svc-a", id: "missing"},
			{name: "credential of another client", clientID: "svc-b", id: "cred-1"},
			{name: "unknown client", clientID: "missing", id: "cred-1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, ctx := open(t, newStore)
				mustCreateCredential(t, s, newCredential("cred-1", "svc-a"))
				mustCreateClient(t, s, newClient("svc-b"))

				err := s.RevokeCredential(ctx, tt.clientID, tt.id, now)
				checkErr(t, "RevokeCredential", err, store.ErrNotFound)
				checkEqual(t, "credential", mustGetCredential(t, s, "cred-1"), newCredential("cred-1", "svc-a"))
			})
		}
	})

	t.Run("revoke twice is not found", func(t *testing.T) {
		s, ctx := open(t, newStore)
		mustCreateCredential(t, s, newCredential("cred-1", "svc-a"))
		err := s.RevokeCredential(ctx, "svc-a", "cred-1", now)
		checkErr(t, "first RevokeCredential", err, nil)

		err = s.RevokeCredential(ctx, "svc-a", "cred-1", now.Add(time.Hour))
		checkErr(t, "second RevokeCredential", err, store.ErrNotFound)
		if got := mustGetCredential(t, s, "cred-1"); got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
			t.Errorf("after revoking twice, RevokedAt = %v, want the first revocation time %v", got.RevokedAt, now)
		}
	})

	t.Run("revoke kills refresh tokens", func(t *testing.T) {
		s, ctx := open(t, newStore)
		revoked := newCredential("cred-1", "svc-a")
		kept := newCredential("cred-2", "svc-a")
		mustCreateCredential(t, s, revoked)
		mustCreateCredential(t, s, kept)
		first := newRefreshToken("first", revoked)
		mustCreateRefreshToken(t, s, first)
		rotated := mustRotate(t, s, first, newChild("second", first, now.Add(-time.Second)), now.Add(-time.Second))
		keptToken := newRefreshToken("kept", kept)
		mustCreateRefreshToken(t, s, keptToken)

		err := s.RevokeCredential(ctx, "svc-a", "cred-1", now)
		checkErr(t, "RevokeCredential", err, nil)

		for _, hash := range [][]byte{first.Hash, rotated.Token.Hash} {
			got := mustGetRefreshToken(t, s, hash)
			if got.RevokedAt == nil || !got.RevokedAt.Equal(now) {
				t.Errorf("refresh token %q of the revoked credential has RevokedAt = %v, want %v", hash, got.RevokedAt, now)
			}
		}
		if got := mustGetRefreshToken(t, s, keptToken.Hash); got.RevokedAt != nil {
			t.Errorf("refresh token of the other credential has RevokedAt = %v, want nil", got.RevokedAt)
		}
		_, err = s.RotateRefreshToken(ctx, rotated.Token.Hash, newChild("third", rotated.Token, now), now, time.Minute)
		checkErr(t, "RotateRefreshToken of the revoked credential's token", err, store.ErrRefreshInactive)
		_, err = s.RotateRefreshToken(ctx, keptToken.Hash, newChild("kept-child", keptToken, now), now, time.Minute)
		checkErr(t, "RotateRefreshToken of the other credential's token", err, nil)
	})

	t.Run("touch keeps the later time", func(t *testing.T) {
		s, ctx := open(t, newStore)
		cred := newCredential("cred-1", "svc-a")
		other := newCredential("cred-2", "svc-a")
		mustCreateCredential(t, s, cred)
		mustCreateCredential(t, s, other)

		steps := []struct {
			name    string
			touchAt time.Time
			want    time.Time
		}{
			{name: "first use", touchAt: now, want: now},
			{name: "earlier time", touchAt: now.Add(-time.Second), want: now},
			{name: "same time", touchAt: now, want: now},
			{name: "later time", touchAt: now.Add(time.Microsecond), want: now.Add(time.Microsecond)},
		}
		for _, step := range steps {
			err := s.TouchCredentials(ctx, map[string]time.Time{"cred-1": step.touchAt, "missing": step.touchAt})
			checkErr(t, "TouchCredentials with "+step.name, err, nil)
			got := mustGetCredential(t, s, "cred-1")
			if got.LastUsedAt == nil || !got.LastUsedAt.Equal(step.want) {
				t.Errorf("after TouchCredentials with %s, LastUsedAt = %v, want %v", step.name, got.LastUsedAt, step.want)
			}
		}

		err := s.TouchCredentials(ctx, map[string]time.Time{})
		checkErr(t, "TouchCredentials with no credentials", err, nil)
		if got := mustGetCredential(t, s, "cred-2"); got.LastUsedAt != nil {
			t.Errorf("an untouched credential has LastUsedAt = %v, want nil", got.LastUsedAt)
		}
	})
}
