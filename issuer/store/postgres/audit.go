package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	return s.inTx(ctx, func(tx pgx.Tx) error {
		return insertAudit(ctx, tx, events)
	})
}

// insertAudit stores events in tx, in one statement. An event with a zero
// Time gets the current time.
func insertAudit(ctx context.Context, tx pgx.Tx, events []store.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	times := make([]time.Time, n)
	actors := make([]string, n)
	actions := make([]string, n)
	clientIDs := make([]string, n)
	credentialIDs := make([]string, n)
	details := make([]string, n)
	called := time.Now()
	for i, event := range events {
		times[i] = event.Time
		if event.Time.IsZero() {
			times[i] = called
		}
		actors[i] = event.Actor
		actions[i] = event.Action
		clientIDs[i] = event.ClientID
		credentialIDs[i] = event.CredentialID
		details[i] = event.Detail
	}

	// ORDER BY inserts the events in argument order, so their ids, which
	// ListAudit uses to order events of the same time, follow it too.
	_, err := tx.Exec(ctx, `INSERT INTO audit_events (time, actor, action, client_id, credential_id, detail)
		SELECT time, actor, action, client_id, credential_id, detail
		FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
			WITH ORDINALITY AS event (time, actor, action, client_id, credential_id, detail, position)
		ORDER BY position`,
		times, actors, actions, clientIDs, credentialIDs, details)
	if err != nil {
		return fmt.Errorf("store %d audit events: %w", len(events), err)
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
		args = append(args, filter.ClientID)
		where = append(where, fmt.Sprintf("client_id = $%d", len(args)))
	}
	if filter.Action != "" {
		args = append(args, filter.Action)
		where = append(where, fmt.Sprintf("action = $%d", len(args)))
	}
	query := `SELECT id, time, actor, action, client_id, credential_id, detail FROM audit_events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	limit := filter.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	args = append(args, limit)
	query += fmt.Sprintf(" ORDER BY time DESC, id DESC LIMIT $%d", len(args))

	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.AuditEvent, error) {
		var e store.AuditEvent
		err := row.Scan(&e.ID, &e.Time, &e.Actor, &e.Action, &e.ClientID, &e.CredentialID, &e.Detail)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	return events, nil
}
