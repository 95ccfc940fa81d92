package storetest

import (
	"testing"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

func testSigningKeys(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("create and list oldest first", func(t *testing.T) {
		s, ctx := open(t, newStore)
		got, err := s.ListSigningKeys(ctx)
		checkErr(t, "ListSigningKeys on an empty store", err, nil)
		checkEqual(t, "keys of an empty store", got, []store.SigningKey{})

		older := newSigningKey("key-b", now.Add(-48*time.Hour))
		older.RetiredAt = ptr(now.Add(-24 * time.Hour))
		older.ExpiresAt = ptr(now.Add(time.Hour))
		newer := newSigningKey("key-a", now.Add(-24*time.Hour))
		for _, key := range []store.SigningKey{newer, older} {
			if err := s.CreateSigningKey(ctx, key); err != nil {
				t.Fatalf("CreateSigningKey(%q) failed: %v", key.ID, err)
			}
		}

		got, err = s.ListSigningKeys(ctx)
		checkErr(t, "ListSigningKeys", err, nil)
		checkEqual(t, "keys", got, []store.SigningKey{older, newer})
	})

	t.Run("create existing id is conflict", func(t *testing.T) {
		s, ctx := open(t, newStore)
		first := newSigningKey("key-a", now)
		checkErr(t, "CreateSigningKey", s.CreateSigningKey(ctx, first), nil)

		second := newSigningKey("key-a", now.Add(time.Hour))
		second.Algorithm = "RS256"
		err := s.CreateSigningKey(ctx, second)
		checkErr(t, "CreateSigningKey of an existing id", err, store.ErrConflict)

		got, err := s.ListSigningKeys(ctx)
		checkErr(t, "ListSigningKeys", err, nil)
		checkEqual(t, "keys after the conflict", got, []store.SigningKey{first})
	})

	t.Run("update times", func(t *testing.T) {
		s, ctx := open(t, newStore)
		key := newSigningKey("key-a", now.Add(-time.Hour))
		checkErr(t, "CreateSigningKey", s.CreateSigningKey(ctx, key), nil)

		update := key
		update.ActivatesAt = now.Add(-time.Minute)
		update.RetiredAt = ptr(now)
		update.ExpiresAt = ptr(now.Add(time.Hour))
		// Only the times change; the key material stays as created.
		update.Algorithm = "RS256"
		update.PublicJWK = []byte(`{}`)
		checkErr(t, "UpdateSigningKeyTimes", s.UpdateSigningKeyTimes(ctx, update), nil)

		want := key
		want.ActivatesAt, want.RetiredAt, want.ExpiresAt = update.ActivatesAt, update.RetiredAt, update.ExpiresAt
		got, err := s.ListSigningKeys(ctx)
		checkErr(t, "ListSigningKeys", err, nil)
		checkEqual(t, "updated keys", got, []store.SigningKey{want})

		checkErr(t, "UpdateSigningKeyTimes clearing the times", s.UpdateSigningKeyTimes(ctx, key), nil)
		got, err = s.ListSigningKeys(ctx)
		checkErr(t, "ListSigningKeys", err, nil)
		checkEqual(t, "keys with cleared times", got, []store.SigningKey{key})
	})

	t.Run("update unknown is not found", func(t *testing.T) {
		s, ctx := open(t, newStore)
		err := s.UpdateSigningKeyTimes(ctx, newSigningKey("missing", now))
		checkErr(t, "UpdateSigningKeyTimes of an unknown id", err, store.ErrNotFound)
	})

	t.Run("delete expired", func(t *testing.T) {
		s, ctx := open(t, newStore)
		expired := newSigningKey("expired", now.Add(-72*time.Hour))
		expired.ExpiresAt = ptr(now.Add(-time.Microsecond))
		expiresNow := newSigningKey("expires-now", now.Add(-48*time.Hour))
		expiresNow.ExpiresAt = ptr(now)
		expiresLater := newSigningKey("expires-later", now.Add(-24*time.Hour))
		expiresLater.ExpiresAt = ptr(now.Add(time.Hour))
		noExpiry := newSigningKey("no-expiry", now)
		for _, key := range []store.SigningKey{expired, expiresNow, expiresLater, noExpiry} {
			checkErr(t, "CreateSigningKey", s.CreateSigningKey(ctx, key), nil)
		}

		deleted, err := s.DeleteExpiredSigningKeys(ctx, now)
		checkErr(t, "DeleteExpiredSigningKeys", err, nil)
		if deleted != 1 {
			t.Errorf("DeleteExpiredSigningKeys deleted %d keys, want 1", deleted)
		}
		got, err := s.ListSigningKeys(ctx)
		checkErr(t, "ListSigningKeys", err, nil)
		checkEqual(t, "keys left", got, []store.SigningKey{expiresNow, expiresLater, noExpiry})

		deleted, err = s.DeleteExpiredSigningKeys(ctx, now)
		checkErr(t, "second DeleteExpiredSigningKeys", err, nil)
		if deleted != 0 {
			t.Errorf("second DeleteExpiredSigningKeys deleted %d keys, want 0", deleted)
		}
	})
}
