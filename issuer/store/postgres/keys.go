package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatepass/gatepass/issuer/store"
)

// ListSigningKeys returns every signing key that has not been deleted,
// oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, algorithm, sealed_private_key, public_jwk,
			created_at, activates_at, retired_at, expires_at
		FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SigningKey, error) {
		var k store.SigningKey
		err := row.Scan(&k.ID, &k.Algorithm, &k.SealedPrivateKey, &k.PublicJWK,
			&k.CreatedAt, &k.ActivatesAt, &k.RetiredAt, &k.ExpiresAt)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return keys, nil
}

// CreateSigningKey stores a new key; ErrConflict if its id exists.
func (s *Store) CreateSigningKey(ctx context.Context, key store.SigningKey, audit ...store.AuditEvent) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO signing_keys
			(id, algorithm, sealed_private_key, public_jwk, created_at, activates_at, retired_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO NOTHING`,
			key.ID, key.Algorithm, key.SealedPrivateKey, key.PublicJWK,
			key.CreatedAt, key.ActivatesAt, key.RetiredAt, key.ExpiresAt)
		if err != nil {
			return fmt.Errorf("create signing key %q: %w", key.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("create signing key %q: %w", key.ID, store.ErrConflict)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// UpdateSigningKeyTimes sets the activation, retirement and expiry times of
// a key; ErrNotFound if unknown. The key's other fields are ignored.
func (s *Store) UpdateSigningKeyTimes(ctx context.Context, key store.SigningKey, audit ...store.AuditEvent) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			`UPDATE signing_keys SET activates_at = $1, retired_at = $2, expires_at = $3 WHERE id = $4`,
			key.ActivatesAt, key.RetiredAt, key.ExpiresAt, key.ID)
		if err != nil {
			return fmt.Errorf("update times of signing key %q: %w", key.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("update times of signing key %q: %w", key.ID, store.ErrNotFound)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// DeleteExpiredSigningKeys removes keys whose ExpiresAt is before now and
// returns how many it removed.
func (s *Store) DeleteExpiredSigningKeys(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM signing_keys WHERE expires_at < $1`, now)
	if err != nil {
		return 0, fmt.Errorf("delete signing keys expired before %s: %w", now.UTC().Format(time.RFC3339), err)
	}
	return int(tag.RowsAffected()), nil
}
