package store

import (
	"errors"
	"testing"
	"time"
)

func TestNextRotationStep(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	grace := 5 * time.Second
	at := func(d time.Duration) *time.Time {
		moment := now.Add(d)
		return &moment
	}
	active := Credential{ID: "c1", ClientID: "svc"}
	fresh := RefreshToken{FamilyID: "f1", ExpiresAt: now.Add(time.Hour)}

	tests := []struct {
		name     string
		parent   RefreshToken
		owner    Credential
		want     RotationStep
		inactive bool
	}{
		{name: "unused token rotates", parent: fresh, owner: active, want: RotationRotate},
		{name: "spent inside grace replays", parent: RefreshToken{UsedAt: at(-time.Second), ExpiresAt: now.Add(time.Hour)}, owner: active, want: RotationReplay},
		{name: "spent after grace revokes family", parent: RefreshToken{UsedAt: at(-grace), ExpiresAt: now.Add(time.Hour)}, owner: active, want: RotationRevokeFamily},
		{name: "reuse reported for disabled client", parent: RefreshToken{UsedAt: at(-time.Minute), ExpiresAt: now.Add(time.Hour)}, owner: Credential{ClientDisabled: true}, want: RotationRevokeFamily},
		{name: "revoked token", parent: RefreshToken{RevokedAt: at(-time.Minute), UsedAt: at(-time.Hour), ExpiresAt: now.Add(time.Hour)}, owner: active, inactive: true},
		{name: "revoked credential", parent: fresh, owner: Credential{RevokedAt: at(-time.Minute)}, inactive: true},
		{name: "expired credential", parent: fresh, owner: Credential{ExpiresAt: at(-time.Minute)}, inactive: true},
		{name: "disabled client", parent: fresh, owner: Credential{ClientDisabled: true}, inactive: true},
		{name: "expired token", parent: RefreshToken{ExpiresAt: now}, owner: active, inactive: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NextRotationStep(tt.parent, tt.owner, now, grace)
			if tt.inactive {
				if !errors.Is(err, ErrRefreshInactive) {
					t.Errorf("error = %v, want ErrRefreshInactive", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got != tt.want {
				t.Errorf("step = %d, want %d", got, tt.want)
			}
		})
	}
}
