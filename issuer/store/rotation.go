package store

import (
	"fmt"
	"time"
)

// RotationStep is the action RotateRefreshToken takes on a parent token.
type RotationStep int

const (
	// RotationRotate stores the child and marks the parent spent.
	RotationRotate RotationStep = iota
	// RotationReplay returns the child stored when the parent was spent.
	RotationReplay
	// RotationRevokeFamily revokes every token of the parent's family.
	RotationRevokeFamily
)

// NextRotationStep decides what presenting parent at now does, or returns
// an error wrapping ErrRefreshInactive. owner is the parent's credential
// with ExpiresAt, RevokedAt and ClientDisabled filled. Every backend's
// RotateRefreshToken applies it, so the backends cannot disagree.
//
// Reuse after the grace period is checked before the owner's state, so a
// stolen token is reported even when its client has been disabled since.
func NextRotationStep(parent RefreshToken, owner Credential, now time.Time, grace time.Duration) (RotationStep, error) {
	switch {
	case parent.RevokedAt != nil:
		return 0, fmt.Errorf("rotate refresh token of family %s: token revoked: %w", parent.FamilyID, ErrRefreshInactive)
	case parent.UsedAt != nil && now.Sub(*parent.UsedAt) >= grace:
		return RotationRevokeFamily, nil
	case !owner.Active(now):
		return 0, fmt.Errorf("rotate refresh token of family %s: credential %q of client %q is revoked, expired or disabled: %w",
			parent.FamilyID, owner.ID, owner.ClientID, ErrRefreshInactive)
	case parent.UsedAt != nil:
		return RotationReplay, nil
	case !now.Before(parent.ExpiresAt):
		return 0, fmt.Errorf("rotate refresh token of family %s: token expired: %w", parent.FamilyID, ErrRefreshInactive)
	}
	return RotationRotate, nil
}

// ReuseEvent returns the audit event recorded when parent, spent more than
// grace before now, was presented again.
func ReuseEvent(parent RefreshToken, now time.Time, grace time.Duration) AuditEvent {
	return AuditEvent{
		Time:         now,
		Actor:        "system",
		Action:       "refresh.reuse_detected",
		ClientID:     parent.ClientID,
		CredentialID: parent.CredentialID,
		Detail: fmt.Sprintf("refresh token family %s revoked: a token spent at %s was presented again %s later, after the %s grace period",
			parent.FamilyID, parent.UsedAt.UTC().Format(time.RFC3339), now.Sub(*parent.UsedAt).Round(time.Second), grace),
	}
}
