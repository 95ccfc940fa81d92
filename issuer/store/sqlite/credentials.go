package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// selectCredential selects the columns scanCredential reads, with the
// owning client's disabled flag.
const selectCredential = `SELECT c.id, c.client_id, c.type, c.secret_hash, c.scopes, c.permissions,
	c.created_at, c.expires_at, c.last_used_at, c.revoked_at, cl.disabled
FROM credentials c JOIN clients cl ON cl.id = c.client_id`

func scanCredential(row interface{ Scan(...any) error }) (store.Credential, error) {
	var c store.Credential
	err := row.Scan(&c.ID, &c.ClientID, &c.Type, &c.SecretHash,
		jsonColumn{&c.Scopes}, jsonColumn{&c.Permissions},
		timeColumn{&c.CreatedAt}, nullTimeColumn{&c.ExpiresAt},
		nullTimeColumn{&c.LastUsedAt}, nullTimeColumn{&c.RevokedAt},
		&c.ClientDisabled)
	return c, err
}

// CreateCredential stores a credential; ErrConflict if its id exists,
// ErrNotFound if its client does not exist and opts.RegisterClient is
// false. A client it registers is created at credential.CreatedAt.
func (s *Store) CreateCredential(ctx context.Context, credential store.Credential, opts store.CreateCredentialOptions, audit ...store.AuditEvent) error {
	scopes, err := encodeList(credential.Scopes)
	if err != nil {
		return fmt.Errorf("create credential %q: %w", credential.ID, err)
	}
	permissions, err := encodeList(credential.Permissions)
	if err != nil {
		return fmt.Errorf("create credential %q: %w", credential.ID, err)
	}

	return s.inTx(ctx, func(tx *sql.Tx) error {
		if opts.RegisterClient {
			client := store.Client{ID: credential.ClientID, CreatedAt: credential.CreatedAt}
			if _, err := insertClient(ctx, tx, client); err != nil {
				return fmt.Errorf("create credential %q: %w", credential.ID, err)
			}
		} else if err := checkClientExists(ctx, tx, credential.ClientID); err != nil {
			return fmt.Errorf("create credential %q: %w", credential.ID, err)
		}

		result, err := tx.ExecContext(ctx, `INSERT INTO credentials
			(id, client_id, type, secret_hash, scopes, permissions, created_at, expires_at, last_used_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			credential.ID, credential.ClientID, credential.Type, credential.SecretHash, scopes, permissions,
			micros(credential.CreatedAt), nullMicros(credential.ExpiresAt),
			nullMicros(credential.LastUsedAt), nullMicros(credential.RevokedAt))
		if err != nil {
			return fmt.Errorf("insert credential %q: %w", credential.ID, err)
		}
		if rowsAffected(result) == 0 {
			return fmt.Errorf("create credential %q: %w", credential.ID, store.ErrConflict)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// checkClientExists returns ErrNotFound unless the client exists.
func checkClientExists(ctx context.Context, q querier, clientID string) error {
	var found int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM clients WHERE id = ?`, clientID).Scan(&found)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("client %q: %w", clientID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("look up client %q: %w", clientID, err)
	}
	return nil
}

// querier is the query method that *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// GetCredential returns a credential, revoked and expired ones included,
// with ClientDisabled filled; ErrNotFound if unknown.
func (s *Store) GetCredential(ctx context.Context, id string) (store.Credential, error) {
	credential, err := scanCredential(s.getCredential.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := s.reader.QueryContext(ctx, selectCredential+`
		WHERE c.client_id = ? AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > ?)
		ORDER BY c.created_at, c.id`,
		clientID, micros(now))
	if err != nil {
		return nil, fmt.Errorf("list active credentials of client %q: %w", clientID, err)
	}
	defer rows.Close()

	credentials := []store.Credential{}
	for rows.Next() {
		credential, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("list active credentials of client %q: %w", clientID, err)
		}
		credentials = append(credentials, credential)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list active credentials of client %q: %w", clientID, err)
	}

	if len(credentials) == 0 {
		if err := checkClientExists(ctx, s.reader, clientID); err != nil {
			return nil, fmt.Errorf("list active credentials: %w", err)
		}
	}
	return credentials, nil
}

// RevokeCredential revokes the credential id of clientID and every refresh
// token issued from it. ErrNotFound if the credential does not exist,
// belongs to another client or is already revoked.
func (s *Store) RevokeCredential(ctx context.Context, clientID, id string, at time.Time, audit ...store.AuditEvent) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		result, err := tx.ExecContext(ctx,
			`UPDATE credentials SET revoked_at = ? WHERE id = ? AND client_id = ? AND revoked_at IS NULL`,
			micros(at), id, clientID)
		if err != nil {
			return fmt.Errorf("revoke credential %q of client %q: %w", id, clientID, err)
		}
		if rowsAffected(result) == 0 {
			return fmt.Errorf("revoke credential %q of client %q: active credential %w", id, clientID, store.ErrNotFound)
		}

		_, err = tx.ExecContext(ctx,
			`UPDATE refresh_tokens SET revoked_at = ? WHERE credential_id = ? AND revoked_at IS NULL`,
			micros(at), id)
		if err != nil {
			return fmt.Errorf("revoke refresh tokens of credential %q: %w", id, err)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// TouchCredentials sets last_used_at of each credential in lastUsed to the
// given time unless it already holds a later one. Unknown ids are skipped.
func (s *Store) TouchCredentials(ctx context.Context, lastUsed map[string]time.Time) error {
	if len(lastUsed) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx,
			`UPDATE credentials SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)`)
		if err != nil {
			return fmt.Errorf("touch credentials: %w", err)
		}
		defer stmt.Close()

		for id, at := range lastUsed {
			if _, err := stmt.ExecContext(ctx, micros(at), id); err != nil {
				return fmt.Errorf("touch credential %q: %w", id, err)
			}
		}
		return nil
	})
}
