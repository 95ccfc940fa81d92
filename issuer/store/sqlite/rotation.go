package sqlite

import (
	"fmt"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// rotationStep is the action RotateRefreshToken takes on a parent token.
type rotationStep int

const (
	// stepRotate stores the child and marks the parent spent.
	stepRotate rotationStep = iota
	// stepReplay returns the child stored when the parent was spent.
	stepReplay
	// stepRevokeFamily revokes every token of the parent's family.
	stepRevokeFamily
)

// nextRotationStep decides what presenting parent at now does, or returns
// an error wrapping store.ErrRefreshInactive. owner is the parent's
// credential with ExpiresAt, RevokedAt and ClientDisabled filled.
//
// Reuse after the grace period is checked before the owner's state, so a
// stolen token is reported even when its client has been disabled since.
//
// NOTE: the postgres backend has a copy of this file; change both together.
// The conformance suite in storetest checks that they agree.
func nextRotationStep(parent store.RefreshToken, owner store.Credential, now time.Time, grace time.Duration) (rotationStep, error) {
	switch {
	case parent.RevokedAt != nil:
		return 0, fmt.Errorf("rotate refresh token of family %s: token revoked: %w", parent.FamilyID, store.ErrRefreshInactive)
	case parent.UsedAt != nil && now.Sub(*parent.UsedAt) >= grace:
		return stepRevokeFamily, nil
	case !owner.Active(now):
		return 0, fmt.Errorf("rotate refresh token of family %s: credential %q of client %q is revoked, expired or disabled: %w",
			parent.FamilyID, owner.ID, owner.ClientID, store.ErrRefreshInactive)
	case parent.UsedAt != nil:
		return stepReplay, nil
	case !now.Before(parent.ExpiresAt):
		return 0, fmt.Errorf("rotate refresh token of family %s: token expired: %w", parent.FamilyID, store.ErrRefreshInactive)
	}
	return stepRotate, nil
}

// reuseEvent returns the audit event recorded when parent, spent more than
// grace before now, was presented again.
func reuseEvent(parent store.RefreshToken, now time.Time, grace time.Duration) store.AuditEvent {
	return store.AuditEvent{
		Time:         now,
		Actor:        "system",
		Action:       "refresh.reuse_detected",
		ClientID:     parent.ClientID,
		CredentialID: parent.CredentialID,
		Detail: fmt.Sprintf("refresh token family %s revoked: a token spent at %s was presented again %s later, after the %s grace period",
			parent.FamilyID, parent.UsedAt.UTC().Format(time.RFC3339), now.Sub(*parent.UsedAt).Round(time.Second), grace),
	}
}
