package dial_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/issuer/store/dial"
	"github.com/gatepass/gatepass/issuer/store/postgres/pgtest"
)

func TestIsPostgres(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{url: "postgres://postgres@127.0.0.1:5432/gatepass", want: true},
		{url: "postgresql://postgres@127.0.0.1/gatepass", want: true},
		{url: "POSTGRES://postgres@127.0.0.1/gatepass", want: true},
		{url: "./data/gatepass.db", want: false},
		{url: "/var/lib/gatepass/gatepass.db", want: false},
		{url: "data/postgres://x.db", want: false},
		{url: "postgres:/gatepass.db", want: false},
		{url: "mysql://root@127.0.0.1/gatepass", want: false},
		{url: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			if got := dial.IsPostgres(tt.url); got != tt.want {
				t.Errorf("IsPostgres(%q) = %t, want %t", tt.url, got, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want string
	}{
		{name: "password", url: "postgres://gatepass:hunter2@db:5432/gatepass?sslmode=require", want: "postgres://gatepass:xxxxx@db:5432/gatepass?sslmode=require"},
		{name: "no password", url: "postgres://gatepass@db/gatepass", want: "postgres://gatepass@db/gatepass"},
		{name: "unparsable", url: "postgres://gatepass:hunter2@[db/gatepass", want: "postgres://(unparsable URL, not shown)"},
		{name: "SQLite path", url: "./data/gatepass.db", want: "./data/gatepass.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dial.Redact(tt.url); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestOpenSelectsBackend(t *testing.T) {
	tests := []struct {
		name string
		url  func(t *testing.T) string
		want string
	}{
		{name: "SQLite", url: func(t *testing.T) string { return filepath.Join(t.TempDir(), "data", "gatepass.db") }, want: "*sqlite.Store"},
		{name: "Postgres", url: func(t *testing.T) string { return pgtest.NewDatabase(t) }, want: "*postgres.Store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url(t)
			if err := dial.Migrate(t.Context(), url); err != nil {
				t.Fatalf("Migrate failed: %v", err)
			}
			s, err := dial.Open(t.Context(), url)
			if err != nil {
				t.Fatalf("Open failed: %v", err)
			}
			defer s.Close()

			if got := fmt.Sprintf("%T", s); got != tt.want {
				t.Errorf("Open returned a %s, want a %s", got, tt.want)
			}
			if err := s.CreateClient(t.Context(), store.Client{ID: "svc-a"}); err != nil {
				t.Errorf("CreateClient failed: %v", err)
			}
		})
	}
}

func TestErrorsHidePassword(t *testing.T) {
	// Nothing listens on port 1 of loopback, so connecting fails at once.
	urls := []string{
		"postgres://gatepass:hunter2@127.0.0.1:1/gatepass?sslmode=disable&connect_timeout=5",
		"postgres://gatepass:hunter2@[127.0.0.1/gatepass",
		"postgresql://gatepass:hunter2@127.0.0.1:1/gatepass?sslmode=nonsense",
	}
	for _, url := range urls {
		t.Run(dial.Redact(url), func(t *testing.T) {
			_, err := dial.Open(t.Context(), url)
			if err == nil {
				t.Fatal("Open succeeded, want an error")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Open error shows the password: %v", err)
			}

			err = dial.Migrate(t.Context(), url)
			if err == nil {
				t.Fatal("Migrate succeeded, want an error")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Migrate error shows the password: %v", err)
			}
		})
	}
}
