package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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

// insertRefreshToken inserts the token given as the 11 arguments of
// refreshTokenArgs, and returns it as stored.
const insertRefreshToken = `INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
	ON CONFLICT (hash) DO NOTHING
	RETURNING ` + refreshTokenColumns

func refreshTokenArgs(t store.RefreshToken) []any {
	return []any{t.Hash, t.FamilyID, t.ParentHash, t.CredentialID, t.ClientID, nonNil(t.Scopes),
		t.SealedAccessToken, t.CreatedAt, t.ExpiresAt, t.UsedAt, t.RevokedAt}
}

func scanRefreshToken(row pgx.Row, extra ...any) (store.RefreshToken, error) {
	var t store.RefreshToken
	dest := []any{&t.Hash, &t.FamilyID, &t.ParentHash, &t.CredentialID, &t.ClientID, &t.Scopes,
		&t.SealedAccessToken, &t.CreatedAt, &t.ExpiresAt, &t.UsedAt, &t.RevokedAt}
	err := row.Scan(append(dest, extra...)...)
	return t, err
}

// CreateRefreshToken stores the first token of a new family. It returns
// ErrNotFound unless the token's credential exists, is not revoked and
// belongs to the token's client, and ErrConflict if the hash exists. It takes one round
// trip unless it fails.
func (s *Store) CreateRefreshToken(ctx context.Context, token store.RefreshToken) error {
	token.ParentHash = nil
	tag, err := s.pool.Exec(ctx, `INSERT INTO refresh_tokens (`+refreshTokenColumns+`)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
		WHERE EXISTS (SELECT 1 FROM credentials WHERE id = $4 AND client_id = $5 AND revoked_at IS NULL)
		ON CONFLICT (hash) DO NOTHING`,
		refreshTokenArgs(token)...)
	if err != nil {
		return fmt.Errorf("create refresh token of family %s: %w", token.FamilyID, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}

	// Nothing was inserted: tell a taken hash from a missing credential.
	var exists bool
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM refresh_tokens WHERE hash = $1)`, token.Hash).Scan(&exists)
	if err != nil {
		return fmt.Errorf("create refresh token of family %s: %w", token.FamilyID, err)
	}
	if exists {
		return fmt.Errorf("create refresh token of family %s: hash %w", token.FamilyID, store.ErrConflict)
	}
	return fmt.Errorf("create refresh token: credential %q of client %q: %w", token.CredentialID, token.ClientID, store.ErrNotFound)
}

// GetRefreshToken returns the refresh token with the given hash, spent,
// revoked and expired ones included; ErrNotFound if unknown.
func (s *Store) GetRefreshToken(ctx context.Context, hash []byte) (store.RefreshToken, error) {
	token, err := scanRefreshToken(s.pool.QueryRow(ctx,
		`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("get refresh token: %w", err)
	}
	return token, nil
}

// RotateRefreshToken spends the token with hash parentHash at now and
// stores child as its replacement, with FamilyID, ParentHash, CredentialID
// and ClientID taken from the parent. See store.Store for the outcomes.
//
// The parent's row stays locked (SELECT ... FOR UPDATE) from the decision
// to the commit, so concurrent rotations of one parent run one after the
// other: the first stores its child, and the others, reading the parent
// again once the lock is released, find it spent and replay that child.
func (s *Store) RotateRefreshToken(ctx context.Context, parentHash []byte, child store.RefreshToken, now time.Time, grace time.Duration) (store.Rotation, error) {
	var (
		rotation store.Rotation
		reuse    *store.AuditEvent
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rotation, reuse = store.Rotation{}, nil

		var owner store.Credential
		row := tx.QueryRow(ctx, `SELECT `+parentColumns+`, c.expires_at, c.revoked_at, cl.disabled
			FROM refresh_tokens r
			JOIN credentials c ON c.id = r.credential_id
			JOIN clients cl ON cl.id = c.client_id
			WHERE r.hash = $1
			FOR UPDATE OF r FOR SHARE OF c`, parentHash)
		parent, err := scanRefreshToken(row, &owner.ExpiresAt, &owner.RevokedAt, &owner.ClientDisabled)
		if errors.Is(err, pgx.ErrNoRows) {
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
			replayed, err := scanRefreshToken(tx.QueryRow(ctx,
				`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE parent_hash = $1`, parentHash))
			if err != nil {
				return fmt.Errorf("rotate refresh token of family %s: read the replacement of the spent token: %w", parent.FamilyID, err)
			}
			rotation = store.Rotation{Token: replayed, Replayed: true}
			return nil

		case store.RotationRevokeFamily:
			_, err := tx.Exec(ctx,
				`UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL`,
				now, parent.FamilyID)
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
		stored, err := spend(ctx, tx, parent, child, now)
		if err != nil {
			return err
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

// spend inserts child and marks parent spent at now, in one round trip,
// and returns child as stored.
func spend(ctx context.Context, tx pgx.Tx, parent, child store.RefreshToken, now time.Time) (store.RefreshToken, error) {
	batch := &pgx.Batch{}
	batch.Queue(insertRefreshToken, refreshTokenArgs(child)...)
	batch.Queue(`UPDATE refresh_tokens SET used_at = $1 WHERE hash = $2`, now, parent.Hash)
	results := tx.SendBatch(ctx, batch)
	defer results.Close()

	stored, err := scanRefreshToken(results.QueryRow())
	if errors.Is(err, pgx.ErrNoRows) {
		return store.RefreshToken{}, fmt.Errorf("rotate refresh token of family %s: child hash %w", parent.FamilyID, store.ErrConflict)
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("rotate refresh token of family %s: insert the child: %w", parent.FamilyID, err)
	}
	if _, err := results.Exec(); err != nil {
		return store.RefreshToken{}, fmt.Errorf("rotate refresh token of family %s: mark the parent spent: %w", parent.FamilyID, err)
	}
	if err := results.Close(); err != nil {
		return store.RefreshToken{}, fmt.Errorf("rotate refresh token of family %s: %w", parent.FamilyID, err)
	}
	return stored, nil
}
