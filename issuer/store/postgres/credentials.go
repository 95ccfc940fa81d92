package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatepass/gatepass/issuer/store"
)

// selectCredential selects the columns scanCredential reads, with the
// owning client's disabled flag.
const selectCredential = `SELECT c.id, c.client_id, c.type, c.secret_hash, c.scopes, c.permissions,
	c.created_at, c.expires_at, c.last_used_at, c.revoked_at, cl.disabled
FROM credentials c JOIN clients cl ON cl.id = c.client_id`

func scanCredential(row pgx.Row) (store.Credential, error) {
	var c store.Credential
	err := row.Scan(credentialRow{&c})
	return c, err
}

// credentialRow scans a selectCredential row into credential with scan
// plans cached on the connection, because GetCredential runs on every
// token request.
type credentialRow struct {
	credential *store.Credential
}

// credentialScanPlans is the connection custom data key of the plans.
const credentialScanPlans = "gatepass.credential"

// ScanRow implements pgx.RowScanner.
func (r credentialRow) ScanRow(rows pgx.Rows) error {
	c := r.credential
	return scanCached(rows, credentialScanPlans, []any{&c.ID, &c.ClientID, &c.Type, &c.SecretHash, &c.Scopes, &c.Permissions,
		&c.CreatedAt, &c.ExpiresAt, &c.LastUsedAt, &c.RevokedAt, &c.ClientDisabled})
}

// CreateCredential stores a credential; ErrConflict if its id exists,
// ErrNotFound if its client does not exist and opts.RegisterClient is
// false. A client it registers is created at credential.CreatedAt.
func (s *Store) CreateCredential(ctx context.Context, credential store.Credential, opts store.CreateCredentialOptions, audit ...store.AuditEvent) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if opts.RegisterClient {
			client := store.Client{ID: credential.ClientID, CreatedAt: credential.CreatedAt}
			if _, err := insertClient(ctx, tx, client); err != nil {
				return fmt.Errorf("create credential %q: %w", credential.ID, err)
			}
		} else if err := checkClientExists(ctx, tx, credential.ClientID); err != nil {
			return fmt.Errorf("create credential %q: %w", credential.ID, err)
		}

		tag, err := tx.Exec(ctx, `INSERT INTO credentials
			(id, client_id, type, secret_hash, scopes, permissions, created_at, expires_at, last_used_at, revoked_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (id) DO NOTHING`,
			credential.ID, credential.ClientID, credential.Type, credential.SecretHash,
			nonNil(credential.Scopes), nonNil(credential.Permissions),
			credential.CreatedAt, credential.ExpiresAt, credential.LastUsedAt, credential.RevokedAt)
		if err != nil {
			return fmt.Errorf("insert credential %q: %w", credential.ID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("create credential %q: %w", credential.ID, store.ErrConflict)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// nonNil returns list, or an empty list for nil, which pgx would send as
// NULL rather than as an empty array or JSON [].
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

// checkClientExists returns ErrNotFound unless the client exists.
func checkClientExists(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, clientID string) error {
	var exists bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM clients WHERE id = $1)`, clientID).Scan(&exists)
	if err != nil {
		return fmt.Errorf("look up client %q: %w", clientID, err)
	}
	if !exists {
		return fmt.Errorf("client %q: %w", clientID, store.ErrNotFound)
	}
	return nil
}

// GetCredential returns a credential, revoked and expired ones included,
// with ClientDisabled filled; ErrNotFound if unknown. It takes one round
// trip, on a statement pgx prepares once per connection.
func (s *Store) GetCredential(ctx context.Context, id string) (store.Credential, error) {
	credential, err := scanCredential(s.pool.QueryRow(ctx, selectCredential+` WHERE c.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Credential{}, fmt.Errorf("get credential %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Credential{}, fmt.Errorf("get credential %q: %w", id, err)
	}
	return credential, nil
}

// ListActiveCredentials returns the credentials of clientID that are
// neither revoked nor expired at now, oldest first. An unknown client is
// ErrNotFound; a known one without credentials is an empty list.
func (s *Store) ListActiveCredentials(ctx context.Context, clientID string, now time.Time) ([]store.Credential, error) {
	rows, err := s.pool.Query(ctx, selectCredential+`
		WHERE c.client_id = $1 AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > $2)
		ORDER BY c.created_at, c.id`,
		clientID, now)
	if err != nil {
		return nil, fmt.Errorf("list active credentials of client %q: %w", clientID, err)
	}
	credentials, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Credential, error) {
		return scanCredential(row)
	})
	if err != nil {
		return nil, fmt.Errorf("list active credentials of client %q: %w", clientID, err)
	}

	if len(credentials) == 0 {
		if err := checkClientExists(ctx, s.pool, clientID); err != nil {
			return nil, fmt.Errorf("list active credentials: %w", err)
		}
	}
	return credentials, nil
}

// RevokeCredential revokes the credential id of clientID and every refresh
// token issued from it. ErrNotFound if the credential does not exist,
// belongs to another client or is already revoked.
func (s *Store) RevokeCredential(ctx context.Context, clientID, id string, at time.Time, audit ...store.AuditEvent) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx,
			`UPDATE credentials SET revoked_at = $1 WHERE id = $2 AND client_id = $3 AND revoked_at IS NULL`,
			at, id, clientID)
		if err != nil {
			return fmt.Errorf("revoke credential %q of client %q: %w", id, clientID, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("revoke credential %q of client %q: active credential %w", id, clientID, store.ErrNotFound)
		}

		_, err = tx.Exec(ctx,
			`UPDATE refresh_tokens SET revoked_at = $1 WHERE credential_id = $2 AND revoked_at IS NULL`,
			at, id)
		if err != nil {
			return fmt.Errorf("revoke refresh tokens of credential %q: %w", id, err)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// TouchCredentials sets last_used_at of each credential in lastUsed to the
// given time unless it already holds a later one. Unknown ids are skipped.
// It takes one statement. The ids are sorted so that concurrent calls tend
// to lock rows in the same order, and a deadlock that happens anyway is
// retried.
func (s *Store) TouchCredentials(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(lastUsed))
	times := make([]time.Time, len(ids))
	for i, id := range ids {
		times[i] = lastUsed[id]
	}

	err := retryConflicts(ctx, func() error {
		_, err := s.pool.Exec(ctx, `UPDATE credentials c SET last_used_at = touched.at
			FROM unnest($1::text[], $2::timestamptz[]) AS touched (id, at)
			WHERE c.id = touched.id AND (c.last_used_at IS NULL OR c.last_used_at < touched.at)`,
			ids, times)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch %d credentials: %w", len(ids), err)
	}
	return nil
}
