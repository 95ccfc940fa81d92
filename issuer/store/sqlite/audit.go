package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/gatepass/gatepass/issuer/store"
)

// defaultAuditLimit is the number of events ListAudit returns when the
// filter sets no limit.
const defaultAuditLimit = 100

// AppendAudit stores audit events outside any other change.
func (s *Store) AppendAudit(ctx context.Context, events ...store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return insertAudit(ctx, tx, events)
	})
}

// insertAudit stores events in tx. An event with a zero Time gets the
// current time.
func insertAudit(ctx context.Context, tx *sql.Tx, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit_events
		(time, actor, action, client_id, credential_id, detail) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("store audit events: %w", err)
	}
	defer stmt.Close()

	for _, event := range events {
		at := event.Time
		if at.IsZero() {
			at = time.Now()
		}
		_, err := stmt.ExecContext(ctx, micros(at), event.Actor, event.Action, event.ClientID, event.CredentialID, event.Detail)
		if err != nil {
			return fmt.Errorf("store audit event %q: %w", event.Action, err)
		}
	}
	return nil
}

// ListAudit returns audit events matching filter, newest first.
func (s *Store) ListAudit(ctx context.Context, filter store.AuditFilter) ([]store.AuditEvent, error) {
	var (
		where []string
		args  []any
	)
	if filter.ClientID != "" {
		where = append(where, "client_id = ?")
		args = append(args, filter.ClientID)
	}
	if filter.Action != "" {
		where = append(where, "action = ?")
		args = append(args, filter.Action)
	}
	query := `SELECT id, time, actor, action, client_id, credential_id, detail FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := filter.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	query += " ORDER BY time DESC, id DESC LIMIT ?"
	args = append(args, limit)

	rows, err := s.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()

	events := []store.AuditEvent{}
	for rows.Next() {
		var e store.AuditEvent
		err := rows.Scan(&e.ID, timeColumn{&e.Time}, &e.Actor, &e.Action, &e.ClientID, &e.CredentialID, &e.Detail)
		if err != nil {
			return nil, fmt.Errorf("list audit events: %w", err)
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return events, nil
}
