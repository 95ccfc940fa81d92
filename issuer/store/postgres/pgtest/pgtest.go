// Package pgtest gives each test a throwaway database on a real PostgreSQL
// server.
//
// The server is the one at $GATEPASS_TEST_POSTGRES_URL, or DefaultURL when
// that is unset. Tests fail, rather than skip, when it is unreachable.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvURL names the environment variable with the URL of the test server.
const EnvURL = "GATEPASS_TEST_POSTGRES_URL"

// DefaultURL is the test server when EnvURL is unset: the local cluster,
// with trust authentication for the postgres user.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// startHint is the fix shown when the test server is unreachable.
const startHint = "start the local server with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or set " +
	EnvURL + " to the URL of a server where the user may create databases"

// dropTimeout bounds dropping a test database, which runs after the test's
// context has ended.
const dropTimeout = 30 * time.Second

// NewDatabase creates an empty database with a unique name on the test
// server and returns its URL. The database is dropped when the test and
// its subtests finish, after cleanup functions registered later, such as
// one that closes a store, have run.
func NewDatabase(t testing.TB) string {
	t.Helper()
	serverURL := os.Getenv(EnvURL)
	if serverURL == "" {
		serverURL = DefaultURL
	}
	parsed, err := url.Parse(serverURL)
	if err != nil || (parsed.Scheme != "postgres" && parsed.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL, got %q", EnvURL, redact(serverURL))
	}

	admin := connectAdmin(t, t.Context(), serverURL)
	defer admin.Close(context.Background())

	name := databaseName(t.Name())
	if _, err := admin.Exec(t.Context(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create test database %s on %s: %v", name, redact(serverURL), err)
	}
	t.Cleanup(func() { dropDatabase(t, serverURL, name) })

	parsed.Path = "/" + name
	return parsed.String()
}

// connectAdmin connects to the database that serverURL names, or to the
// postgres maintenance database if that one does not exist.
func connectAdmin(t testing.TB, ctx context.Context, serverURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, serverURL)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
		fallback, _ := url.Parse(serverURL)
		fallback.Path = "/postgres"
		conn, err = pgx.Connect(ctx, fallback.String())
	}
	if err != nil {
		t.Fatalf("PostgreSQL at %s is unreachable: %v\nTo fix it, %s.", redact(serverURL), err, startHint)
	}
	return conn
}

func dropDatabase(t testing.TB, serverURL, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
	defer cancel()
	admin := connectAdmin(t, ctx, serverURL)
	defer admin.Close(ctx)

	// FORCE ends sessions a test left open, such as a pool it did not close.
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("drop test database %s: %v", name, err)
	}
}

// databaseName returns a new database name made from the test name and a
// random suffix, within Postgres's 63-byte limit on identifiers.
func databaseName(testName string) string {
	var slug strings.Builder
	for _, r := range strings.ToLower(testName) {
		if slug.Len() == 40 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			slug.WriteRune(r)
		} else {
			slug.WriteByte('_')
		}
	}
	suffix := make([]byte, 6)
	rand.Read(suffix)
	return fmt.Sprintf("gatepass_%s_%s", slug.String(), hex.EncodeToString(suffix))
}

// redact returns rawURL with any password replaced by "xxxxx".
func redact(rawURL string) string {
	parsed, err := url.Parse(rawURL)
	if err != nil {
		return "(an unparsable URL)"
	}
	return parsed.Redacted()
}
