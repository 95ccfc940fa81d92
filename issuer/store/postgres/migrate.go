package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies pending migrations to the database at url. Open does
// this too; Migrate is for running them without starting the issuer.
func Migrate(ctx context.Context, url string) error {
	// pgxpool's parser, so that a URL with pool settings is accepted here
	// as it is by Open.
	config, err := pgxpool.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse Postgres URL: %w", err)
	}
	return migrate(ctx, config.ConnConfig)
}

// migrate applies pending migrations on a connection of its own, holding
// goose's session advisory lock, so that replicas starting together apply
// each migration once: the first applies them, the others wait for the
// lock and then find nothing pending.
func migrate(ctx context.Context, config *pgx.ConnConfig) error {
	db := stdlib.OpenDB(*config)
	defer db.Close()

	sources, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("read embedded migrations: %w", err)
	}
	// Waiting replicas try the lock every second, for up to 5 minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("create migration lock: %w", err)
	}
	provider, err := goose.NewProvider(database.DialectPostgres, db, sources,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("load Postgres migrations: %w", err)
	}

	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate Postgres database %q on %s: %w", config.Database, config.Host, err)
	}
	for _, result := range results {
		slog.InfoContext(ctx, "applied migration",
			"database", config.Database,
			"migration", filepath.Base(result.Source.Path),
			"version", result.Source.Version,
			"duration", result.Duration)
	}
	return nil
}
