package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// refreshTokenColumns are the columns scanRefreshToken reads, and
// parentColumns the same columns of the table aliased r.
const (
	refreshTokenColumns = `hash, family_id, parent_hash, credential_id, client_id, scopes,
	sealed_access_token, created_at, expires_at, used_at, revoked_at`
	parentColumns = `r.hash, r.family_id, r.parent_hash, r.credential_id, r.client_id, r.scopes,
	r.sealed_access_token, r.created_at, r.expires_at, r.used_at, r.revoked_at`
)

func scanRefreshToken(row interface{ Scan(...any) error }, extra ...any) (store.RefreshToken, error) {
	var t store.RefreshToken
	dest := []any{&t.Hash, &t.FamilyID, &t.ParentHash, &t.CredentialID, &t.ClientID, jsonColumn{&t.Scopes},
		&t.SealedAccessToken, timeColumn{&t.CreatedAt}, timeColumn{&t.ExpiresAt},
		nullTimeColumn{&t.UsedAt}, nullTimeColumn{&t.RevokedAt}}
	err := row.Scan(append(dest, extra...)...)
	return t, err
}

// insertRefreshToken inserts token and returns it as stored; ErrConflict if
// its hash exists.
func insertRefreshToken(ctx context.Context, tx *sql.Tx, token store.RefreshToken) (store.RefreshToken, error) {
	scopes, err := encodeList(token.Scopes)
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("insert refresh token of family %s: %w", token.FamilyID, err)
	}
	row := tx.QueryRowContext(ctx, `INSERT INTO refresh_tokens (`+refreshTokenColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (hash) DO NOTHING
		RETURNING `+refreshTokenColumns,
		token.Hash, token.FamilyID, token.ParentHash, token.CredentialID, token.ClientID, scopes,
		token.SealedAccessToken, micros(token.CreatedAt), micros(token.ExpiresAt),
		nullMicros(token.UsedAt), nullMicros(token.RevokedAt))
	stored, err := scanRefreshToken(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.RefreshToken{}, fmt.Errorf("insert refresh token of family %s: hash %w", token.FamilyID, store.ErrConflict)
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("insert refresh token of family %s: %w", token.FamilyID, err)
	}
	return stored, nil
}

// CreateRefreshToken stores the first token of a new family. It returns
// ErrNotFound unless the token's credential exists, is not revoked and
// belongs to the token's client, and ErrConflict if the hash exists.
func (s *Store) CreateRefreshToken(ctx context.Context, token store.RefreshToken) error {
	token.ParentHash = nil
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var clientID string
		err := tx.QueryRowContext(ctx, `SELECT client_id FROM credentials WHERE id = ? AND revoked_at IS NULL`, token.CredentialID).Scan(&clientID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && clientID != token.ClientID) {
			return fmt.Errorf("create refresh token: credential %q of client %q: %w", token.CredentialID, token.ClientID, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("create refresh token: look up credential %q: %w", token.CredentialID, err)
		}

		_, err = insertRefreshToken(ctx, tx, token)
		return err
	})
}

// RotateRefreshToken spends the token with hash parentHash at now and
// stores child as its replacement, with FamilyID, ParentHash, CredentialID
// and ClientID taken from the parent. See store.Store for the outcomes.
func (s *Store) RotateRefreshToken(ctx context.Context, parentHash []byte, child store.RefreshToken, now time.Time, grace time.Duration) (store.Rotation, error) {
	var (
		rotation store.Rotation
		reuse    *store.AuditEvent
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var owner store.Credential
		row := tx.QueryRowContext(ctx, `SELECT `+parentColumns+`,
				c.expires_at, c.revoked_at, cl.disabled
			FROM refresh_tokens r
			JOIN credentials c ON c.id = r.credential_id
			JOIN clients cl ON cl.id = c.client_id
			WHERE r.hash = ?`, parentHash)
		parent, err := scanRefreshToken(row,
			nullTimeColumn{&owner.ExpiresAt}, nullTimeColumn{&owner.RevokedAt}, &owner.ClientDisabled)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("rotate refresh token: %w", store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		owner.ID, owner.ClientID = parent.CredentialID, parent.ClientID

		step, err := store.NextRotationStep(parent, owner, now, grace)
		if err != nil {
			return err
		}
		switch step {
		case store.RotationReplay:
			replayed, err := scanRefreshToken(tx.QueryRowContext(ctx,
				`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE parent_hash = ?`, parentHash))
			if err != nil {
				return fmt.Errorf("rotate refresh token of family %s: read the replacement of the spent token: %w", parent.FamilyID, err)
			}
			rotation = store.Rotation{Token: replayed, Replayed: true}
			return nil

		case store.RotationRevokeFamily:
			_, err := tx.ExecContext(ctx,
				`UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`,
				micros(now), parent.FamilyID)
			if err != nil {
				return fmt.Errorf("revoke refresh token family %s: %w", parent.FamilyID, err)
			}
			event := store.ReuseEvent(parent, now, grace)
			reuse = &event
			return insertAudit(ctx, tx, []store.AuditEvent{event})
		}

		child.FamilyID, child.ParentHash = parent.FamilyID, parent.Hash
		child.CredentialID, child.ClientID = parent.CredentialID, parent.ClientID
		child.UsedAt, child.RevokedAt = nil, nil
		stored, err := insertRefreshToken(ctx, tx, child)
		if err != nil {
			return fmt.Errorf("rotate refresh token: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE hash = ?`, micros(now), parentHash)
		if err != nil {
			return fmt.Errorf("rotate refresh token of family %s: mark the parent spent: %w", parent.FamilyID, err)
		}
		rotation = store.Rotation{Token: stored}
		return nil
	})
	if err != nil {
		return store.Rotation{}, err
	}
	if reuse != nil {
		return store.Rotation{}, fmt.Errorf("rotate refresh token: %s: %w", reuse.Detail, store.ErrRefreshReused)
	}
	return rotation, nil
}

// GetRefreshToken returns the refresh token with the given hash, spent,
// revoked and expired ones included; ErrNotFound if unknown.
func (s *Store) GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	token, err := scanRefreshToken(s.getRefreshToken.QueryRowContext(ctx, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", err)
	}
	return token, nil
}
