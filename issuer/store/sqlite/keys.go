package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// ListSigningKeys returns every signing key that has not been deleted,
// oldest first.
func (s *Store) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, algorithm, sealed_private_key, public_jwk,
			created_at, activates_at, retired_at, expires_at
		FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	defer rows.Close()

	keys := []store.SigningKey{}
	for rows.Next() {
		var k store.SigningKey
		err := rows.Scan(&k.ID, &k.Algorithm, &k.SealedPrivateKey, &k.PublicJWK,
			timeColumn{&k.CreatedAt}, timeColumn{&k.ActivatesAt}, nullTimeColumn{&k.RetiredAt}, nullTimeColumn{&k.ExpiresAt})
		if err != nil {
			return nil, fmt.Errorf("list signing keys: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	return keys, nil
}

// CreateSigningKey stores a new key; ErrConflict if its id exists.
func (s *Store) CreateSigningKey(ctx context.Context, key store.SigningKey, audit ...store.AuditEvent) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		result, err := tx.ExecContext(ctx, `INSERT INTO signing_keys
			(id, algorithm, sealed_private_key, public_jwk, created_at, activates_at, retired_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			key.ID, key.Algorithm, key.SealedPrivateKey, key.PublicJWK,
			micros(key.CreatedAt), micros(key.ActivatesAt), nullMicros(key.RetiredAt), nullMicros(key.ExpiresAt))
		if err != nil {
			return fmt.Errorf("create signing key %q: %w", key.ID, err)
		}
		if rowsAffected(result) == 0 {
			return fmt.Errorf("create signing key %q: %w", key.ID, store.ErrConflict)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// UpdateSigningKeyTimes sets the activation, retirement and expiry times of
// a key; ErrNotFound if unknown. The key's other fields are ignored.
func (s *Store) UpdateSigningKeyTimes(ctx context.Context, key store.SigningKey, audit ...store.AuditEvent) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		result, err := tx.ExecContext(ctx,
			`UPDATE signing_keys SET activates_at = ?, retired_at = ?, expires_at = ? WHERE id = ?`,
			micros(key.ActivatesAt), nullMicros(key.RetiredAt), nullMicros(key.ExpiresAt), key.ID)
		if err != nil {
			return fmt.Errorf("update times of signing key %q: %w", key.ID, err)
		}
		if rowsAffected(result) == 0 {
			return fmt.Errorf("update times of signing key %q: %w", key.ID, store.ErrNotFound)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// DeleteExpiredSigningKeys removes keys whose ExpiresAt is before now and
// returns how many it removed.
func (s *Store) DeleteExpiredSigningKeys(ctx context.Context, now time.Time) (int, error) {
	var deleted int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		result, err := tx.ExecContext(ctx, `DELETE FROM signing_keys WHERE expires_at < ?`, micros(now))
		if err != nil {
			return fmt.Errorf("delete signing keys expired before %s: %w", now.UTC().Format(time.RFC3339), err)
		}
		deleted = rowsAffected(result)
		return nil
	})
	return int(deleted), err
}
