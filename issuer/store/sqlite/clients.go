package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gatepass/gatepass/issuer/store"
)

// CreateClient stores a new client; ErrConflict if the id exists.
func (s *Store) CreateClient(ctx context.Context, client store.Client, audit ...store.AuditEvent) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
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
func insertClient(ctx context.Context, tx *sql.Tx, client store.Client) (bool, error) {
	result, err := tx.ExecContext(ctx,
		`INSERT INTO clients (id, disabled, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		client.ID, client.Disabled, micros(client.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("insert client %q: %w", client.ID, err)
	}
	return rowsAffected(result) == 1, nil
}

// GetClient returns a client or ErrNotFound.
func (s *Store) GetClient(ctx context.Context, id string) (store.Client, error) {
	row := s.reader.QueryRowContext(ctx, `SELECT id, disabled, created_at FROM clients WHERE id = ?`, id)
	client, err := scanClient(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Client{}, fmt.Errorf("get client %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return store.Client{}, fmt.Errorf("get client %q: %w", id, err)
	}
	return client, nil
}

// ListClients returns every client ordered by id.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT id, disabled, created_at FROM clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()

	clients := []store.Client{}
	for rows.Next() {
		client, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("list clients: %w", err)
		}
		clients = append(clients, client)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return clients, nil
}

func scanClient(row interface{ Scan(...any) error }) (store.Client, error) {
	var client store.Client
	err := row.Scan(&client.ID, &client.Disabled, timeColumn{&client.CreatedAt})
	return client, err
}

// SetClientDisabled disables or enables a client; ErrNotFound if unknown.
func (s *Store) SetClientDisabled(ctx context.Context, id string, disabled bool, audit ...store.AuditEvent) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		result, err := tx.ExecContext(ctx, `UPDATE clients SET disabled = ? WHERE id = ?`, disabled, id)
		if err != nil {
			return fmt.Errorf("set client %q disabled to %t: %w", id, disabled, err)
		}
		if rowsAffected(result) == 0 {
			return fmt.Errorf("set client %q disabled to %t: %w", id, disabled, store.ErrNotFound)
		}
		return insertAudit(ctx, tx, audit)
	})
}

// rowsAffected returns the number of rows a statement changed. The SQLite
// driver always reports it, so its error is never set.
func rowsAffected(result sql.Result) int64 {
	n, _ := result.RowsAffected()
	return n
}
