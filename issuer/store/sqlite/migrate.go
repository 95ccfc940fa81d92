package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate creates the SQLite database at path if needed and applies
// pending migrations. Open does this too; Migrate is for running them
// without starting the issuer.
func Migrate(ctx context.Context, path string) error {
	path, err := prepareFile(path)
	if err != nil {
		return err
	}
	return migrate(ctx, path)
}

// migrate applies pending migrations to the file at the absolute path, on a
// connection of its own. SQLite's write lock keeps two processes from
// applying the same migration: each runs in a transaction.
func migrate(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return fmt.Errorf("open SQLite database %s for migration: %w", path, err)
	}
	defer db.Close()

	sources, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("read embedded migrations: %w", err)
	}
	provider, err := goose.NewProvider(database.DialectSQLite3, db, sources, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("load SQLite migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate SQLite database %s: %w", path, err)
	}
	for _, result := range results {
		slog.InfoContext(ctx, "applied migration",
			"database", path,
			"migration", filepath.Base(result.Source.Path),
			"version", result.Source.Version,
			"duration", result.Duration)
	}
	return nil
}
