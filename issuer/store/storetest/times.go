package storetest

import (
	"testing"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// testTimes stores times with nanoseconds in a zone other than UTC and
// expects them back in UTC, truncated to the microsecond.
func testTimes(t *testing.T, newStore func(t *testing.T) store.Store) {
	zone := time.FixedZone("UTC+02:00", 2*60*60)
	// written has 789 nanoseconds below the microsecond; read is what a
	// store returns for it.
	written := time.Date(2026, 8, 21, 11, 14, 2, 118443789, zone)
	read := time.Date(2026, 8, 21, 9, 14, 2, 118443000, time.UTC)
	later := func(d time.Duration) (time.Time, time.Time) { return written.Add(d), read.Add(d) }

	t.Run("client", func(t *testing.T) {
		s, ctx := open(t, newStore)
		checkErr(t, "CreateClient", s.CreateClient(ctx, store.Client{ID: "svc-a", CreatedAt: written}), nil)
		got, err := s.GetClient(ctx, "svc-a")
		checkErr(t, "GetClient", err, nil)
		checkEqual(t, "client", got, store.Client{ID: "svc-a", CreatedAt: read})
	})

	t.Run("credential", func(t *testing.T) {
		s, ctx := open(t, newStore)
		expiresWritten, expiresRead := later(time.Hour)
		usedWritten, usedRead := later(time.Minute)
		revokedWritten, revokedRead := later(2 * time.Minute)
		cred := newCredential("cred-1", "svc-a")
		cred.CreatedAt, cred.ExpiresAt, cred.LastUsedAt = written, &expiresWritten, &usedWritten
		mustCreateCredential(t, s, cred)
		err := s.RevokeCredential(ctx, "svc-a", "cred-1", revokedWritten)
		checkErr(t, "RevokeCredential", err, nil)

		want := cred
		want.CreatedAt, want.ExpiresAt, want.LastUsedAt, want.RevokedAt = read, &expiresRead, &usedRead, &revokedRead
		checkEqual(t, "credential", mustGetCredential(t, s, "cred-1"), want)

		touchWritten, touchRead := later(3 * time.Minute)
		err = s.TouchCredentials(ctx, map[string]time.Time{"cred-1": touchWritten})
		checkErr(t, "TouchCredentials", err, nil)
		want.LastUsedAt = &touchRead
		checkEqual(t, "touched credential", mustGetCredential(t, s, "cred-1"), want)
	})

	t.Run("refresh token", func(t *testing.T) {
		s, ctx := open(t, newStore)
		cred := newCredential("cred-1", "svc-a")
		mustCreateCredential(t, s, cred)
		parent := newRefreshToken("parent", cred)
		parent.CreatedAt = written.Add(-time.Hour)
		mustCreateRefreshToken(t, s, parent)

		child := newChild("child", parent, written)
		expiresWritten, expiresRead := later(24 * time.Hour)
		child.ExpiresAt = expiresWritten
		rotation, err := s.RotateRefreshToken(ctx, parent.Hash, child, written, grace)
		checkErr(t, "RotateRefreshToken", err, nil)
		want := stored(child, parent)
		want.CreatedAt, want.ExpiresAt = read, expiresRead
		checkEqual(t, "rotated token", rotation.Token, want)
		checkEqual(t, "stored child", mustGetRefreshToken(t, s, child.Hash), want)
		spent := parent
		spent.CreatedAt, spent.UsedAt = read.Add(-time.Hour), &read
		checkEqual(t, "spent parent", mustGetRefreshToken(t, s, parent.Hash), spent)

		// A replay reads the child back from storage.
		replayWritten, _ := later(time.Second)
		rotation, err = s.RotateRefreshToken(ctx, parent.Hash, newChild("replay", parent, replayWritten), replayWritten, grace)
		checkErr(t, "RotateRefreshToken within the grace period", err, nil)
		checkEqual(t, "replayed token", rotation.Token, want)
	})

	t.Run("signing key", func(t *testing.T) {
		s, ctx := open(t, newStore)
		activatesWritten, activatesRead := later(time.Hour)
		retiredWritten, retiredRead := later(2 * time.Hour)
		expiresWritten, expiresRead := later(3 * time.Hour)
		key := newSigningKey("key-1", written)
		key.ActivatesAt, key.RetiredAt, key.ExpiresAt = activatesWritten, &retiredWritten, &expiresWritten
		checkErr(t, "CreateSigningKey", s.CreateSigningKey(ctx, key), nil)

		want := key
		want.CreatedAt, want.ActivatesAt, want.RetiredAt, want.ExpiresAt = read, activatesRead, &retiredRead, &expiresRead
		got, err := s.ListSigningKeys(ctx)
		checkErr(t, "ListSigningKeys", err, nil)
		checkEqual(t, "keys", got, []store.SigningKey{want})

		checkErr(t, "UpdateSigningKeyTimes", s.UpdateSigningKeyTimes(ctx, key), nil)
		got, err = s.ListSigningKeys(ctx)
		checkErr(t, "ListSigningKeys", err, nil)
		checkEqual(t, "updated keys", got, []store.SigningKey{want})
	})

	t.Run("audit event", func(t *testing.T) {
		s, ctx := open(t, newStore)
		checkErr(t, "AppendAudit", s.AppendAudit(ctx, newAuditEvent("client.created", "svc-a", written)), nil)
		got := mustListAudit(t, s, store.AuditFilter{})
		checkEqual(t, "events", withoutIDs(t, got), []store.AuditEvent{newAuditEvent("client.created", "svc-a", read)})
	})

	t.Run("comparisons use the instant", func(t *testing.T) {
		s, ctx := open(t, newStore)
		cred := newCredential("cred-1", "svc-a")
		cred.ExpiresAt = ptr(written)
		mustCreateCredential(t, s, cred)

		// One microsecond before the expiry, written in another zone, the
		// credential is active.
		got, err := s.ListActiveCredentials(ctx, "svc-a", read.Add(-time.Microsecond))
		checkErr(t, "ListActiveCredentials", err, nil)
		if len(got) != 1 {
			t.Errorf("before its expiry, ListActiveCredentials returned %d credentials, want 1", len(got))
		}
		got, err = s.ListActiveCredentials(ctx, "svc-a", read.In(zone))
		checkErr(t, "ListActiveCredentials", err, nil)
		if len(got) != 0 {
			t.Errorf("at its expiry, ListActiveCredentials returned %d credentials, want 0", len(got))
		}
	})
}
