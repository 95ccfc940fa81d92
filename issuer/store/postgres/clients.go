package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/gatepass/gatepass/issuer/store"
)

// CreateClient stores a new client; ErrConflict if the id exists.
func (s *Store) CreateClient(ctx context.Context, client store.Client, audit ...store.AuditEvent) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		created, err := insertClient(ctx, tx, client)
		if err != nil {
			return err
		}
		if !created {
			return fmt.Errorf("create client %q: %w", client.ID, store.ErrConflict)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// insertClient inserts client unless its id exists, and reports whether it
// did.
func insertClient(ctx context.Context, tx pgx.Tx, client store.Client) (bool, error) {
	tag, err := tx.Exec(ctx,
		`INSERT INTO clients (id, disabled, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		client.ID, client.Disabled, client.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("insert client %q: %w", client.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// GetClient returns a client or ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	var client store.Client
	err := s.pool.QueryRow(ctx, `SELECT id, disabled, created_at FROM clients WHERE id = $1`, id).
		Scan(&client.ID, &client.Disabled, &client.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Client{}, fmt.Errorf("get client %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("get client %q: %w", id, err)
	}
	return client, nil
}

// ListClients returns every client ordered by id.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, disabled, created_at FROM clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	clients, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Client, error) {
		var client store.Client
		err := row.Scan(&client.ID, &client.Disabled, &client.CreatedAt)
		return client, err
	})
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return clients, nil
}

// SetClientDisabled disables or enables a client; ErrNotFound if unknown.
func (s *Store) SetClientDisabled(ctx context.Context, id string, disabled bool, audit ...store.AuditEvent) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE clients SET disabled = $1 WHERE id = $2`, disabled, id)
		if err != nil {
			return fmt.Errorf("set client %q disabled to %t: %w", id, disabled, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("set client %q disabled to %t: %w", id, disabled, store.ErrNotFound)
		}
		return insertAudit(ctx, tx, audit)
	})
}
