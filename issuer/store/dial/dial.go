// Package dial opens the store.Store backend that a database URL selects.
//
// A URL with the scheme postgres:// or postgresql:// selects the Postgres
// backend. Anything else is the path of an SQLite file, created with its
// directory if it does not exist.
package dial

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/issuer/store/postgres"
	"github.com/gatepass/gatepass/issuer/store/sqlite"
)

// Open opens the store that databaseURL selects and applies pending
// migrations.
func Open(ctx context.Context, databaseURL string) (store.Store, error) {
	if IsPostgres(databaseURL) {
		s, err := postgres.Open(ctx, databaseURL)
		if err != nil {
			return nil, fmt.Errorf("open Postgres store %s: %w", Redact(databaseURL), err)
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open SQLite store %s: %w", databaseURL, err)
	}
	return s, nil
}

// Migrate applies pending migrations to the database that databaseURL
// selects, creating an SQLite file if needed.
func Migrate(ctx context.Context, databaseURL string) error {
	if IsPostgres(databaseURL) {
		if err := postgres.Migrate(ctx, databaseURL); err != nil {
			return fmt.Errorf("migrate Postgres database %s: %w", Redact(databaseURL), err)
		}
		return nil
	}
	if err := sqlite.Migrate(ctx, databaseURL); err != nil {
		return fmt.Errorf("migrate SQLite database %s: %w", databaseURL, err)
	}
	return nil
}

// IsPostgres reports whether databaseURL selects the Postgres backend: its
// scheme is postgres or postgresql, in any case.
func IsPostgres(databaseURL string) bool {
	scheme, _, found := strings.Cut(databaseURL, "://")
	return found && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// Redact returns databaseURL fit for logs and errors: a URL's password is
// replaced by "xxxxx", and a Postgres URL that does not parse is reduced to
// its scheme. An SQLite path is returned unchanged.
func Redact(databaseURL string) string {
	if !IsPostgres(databaseURL) {
		return databaseURL
	}
	parsed, err := url.Parse(databaseURL)
	if err != nil {
		scheme, _, _ := strings.Cut(databaseURL, "://")
		return scheme + "://(unparsable URL, not shown)"
	}
	return parsed.Redacted()
}
