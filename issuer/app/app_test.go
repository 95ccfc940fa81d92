package app_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"github.com/spf13/pflag"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/gatepass/gatepass/issuer/app"
	"github.com/gatepass/gatepass/issuer/config"
	"github.com/gatepass/gatepass/issuer/store/postgres/pgtest"
)

// runningIssuer starts a whole issuer, as `issuer serve` does, on a
// loopback port.
func runningIssuer(t *testing.T, databaseURL string) (*app.Issuer, string) {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuerURL := "http://" + listener.Addr().String()

	cfg := config.Bind(pflag.NewFlagSet("test", pflag.ContinueOnError))
	cfg.IssuerURL = issuerURL
	cfg.DatabaseURL = databaseURL
	cfg.KeyEncryptionKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	issuer, err := app.Open(ctx, cfg, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- issuer.ServeListener(ctx, listener) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("issuer stopped with error: %v", err)
		}
		issuer.Close()
	})
	return issuer, issuerURL
}

func TestStandardClientLibraries(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "gatepass.db") },
		"postgres": func(t *testing.T) string { return pgtest.NewDatabase(t) },
	}
	for name, databaseURL := range backends {
		t.Run(name, func(t *testing.T) {
			testStandardClientLibraries(t, databaseURL(t))
		})
	}
}

// testStandardClientLibraries gets tokens with golang.org/x/oauth2 in both
// client authentication styles and verifies them with coreos/go-oidc
// through discovery and /jwks, across a key rotation.
func testStandardClientLibraries(t *testing.T, databaseURL string) {
	ctx := context.Background()
	issuer, issuerURL := runningIssuer(t, databaseURL)
	created, err := issuer.CreateCredential(ctx, app.NewCredential{ClientID: "svc-a", Type: "interactive", Scopes: []string{"read"}, RegisterClient: true})
	if err != nil {
		t.Fatal(err)
	}

	provider, err := oidc.NewProvider(ctx, issuerURL)
	if err != nil {
		t.Fatalf("OIDC discovery of %s failed: %v", issuerURL, err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: issuerURL, SupportedSigningAlgs: []string{"ES256"}})

	fetch := func(style oauth2.AuthStyle) string {
		t.Helper()
		source := (&clientcredentials.Config{
			ClientID: "svc-a", ClientSecret: created.Secret, TokenURL: provider.Endpoint().TokenURL, AuthStyle: style,
		}).TokenSource(ctx)
		token, err := source.Token()
		if err != nil {
			t.Fatalf("clientcredentials with auth style %v: %v", style, err)
		}
		if token.Expiry.Before(time.Now().Add(4 * time.Minute)) {
			t.Errorf("token expires at %v, want about 5 minutes from now", token.Expiry)
		}
		return token.AccessToken
	}
	verifyToken := func(raw string) {
		t.Helper()
		idToken, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("go-oidc rejected the token: %v", err)
		}
		if idToken.Subject != "svc-a" {
			t.Errorf("subject = %q, want svc-a", idToken.Subject)
		}
	}

	beforeRotation := fetch(oauth2.AuthStyleInHeader)
	verifyToken(beforeRotation)
	verifyToken(fetch(oauth2.AuthStyleInParams))

	if err := issuer.Keys.Rotate(ctx); err != nil {
		t.Fatalf("rotating keys: %v", err)
	}
	afterRotation := fetch(oauth2.AuthStyleInHeader)
	verifyToken(afterRotation)
	verifyToken(beforeRotation)

	if kidOf(t, beforeRotation) == kidOf(t, afterRotation) {
		t.Error("the token after rotation was signed with the old key")
	}
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := parsed.Header["kid"].(string)
	return kid
}

func TestShutdownFlushesLastUsed(t *testing.T) {
	ctx := context.Background()
	databaseURL := filepath.Join(t.TempDir(), "gatepass.db")
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Bind(pflag.NewFlagSet("test", pflag.ContinueOnError))
	cfg.IssuerURL = "http://" + listener.Addr().String()
	cfg.DatabaseURL = databaseURL
	cfg.LastUsedFlush = time.Hour
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}

	serveCtx, stop := context.WithCancel(ctx)
	issuer, err := app.Open(ctx, cfg, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()
	created, err := issuer.CreateCredential(ctx, app.NewCredential{ClientID: "svc-a", Type: "interactive", RegisterClient: true})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- issuer.ServeListener(serveCtx, listener) }()

	source := (&clientcredentials.Config{ClientID: "svc-a", ClientSecret: created.Secret, TokenURL: cfg.IssuerURL + "/token", AuthStyle: oauth2.AuthStyleInParams}).TokenSource(ctx)
	if _, err := source.Token(); err != nil {
		t.Fatal(err)
	}
	before, err := issuer.Store.GetCredential(ctx, created.CredentialID)
	if err != nil {
		t.Fatal(err)
	}
	if before.LastUsedAt != nil {
		t.Fatalf("last_used_at written on the request path: %v, want it batched", before.LastUsedAt)
	}

	stop()
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
	after, err := issuer.Store.GetCredential(ctx, created.CredentialID)
	if err != nil {
		t.Fatal(err)
	}
	if after.LastUsedAt == nil {
		t.Error("last_used_at still empty after a clean shutdown, want the pending use flushed")
	}
}

func TestCreateCredentialChecksRequest(t *testing.T) {
	ctx := context.Background()
	cfg := config.Bind(pflag.NewFlagSet("test", pflag.ContinueOnError))
	cfg.DatabaseURL = filepath.Join(t.TempDir(), "gatepass.db")
	cfg.MaxCredentialDays = 10
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	issuer, err := app.Open(ctx, cfg, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer issuer.Close()

	tests := []struct {
		name     string
		request  app.NewCredential
		wantErr  bool
		wantDays int
	}{
		{name: "no expiry is capped", request: app.NewCredential{Type: "interactive"}, wantDays: 10},
		{name: "long lifetime is capped", request: app.NewCredential{Type: "interactive", ExpiresIn: 365 * 24 * time.Hour}, wantDays: 10},
		{name: "short lifetime kept", request: app.NewCredential{Type: "interactive", ExpiresIn: 48 * time.Hour}, wantDays: 2},
		{name: "negative lifetime", request: app.NewCredential{Type: "interactive", ExpiresIn: -5 * time.Hour}, wantErr: true},
		{name: "type with newline", request: app.NewCredential{Type: "x\ny"}, wantErr: true},
		{name: "empty type", request: app.NewCredential{}, wantErr: true},
		{name: "invalid scope", request: app.NewCredential{Type: "interactive", Scopes: []string{`a"b`}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.request.ClientID = "svc-a"
			tt.request.RegisterClient = true
			created, err := issuer.CreateCredential(ctx, tt.request)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("CreateCredential(%+v) succeeded, want an error", tt.request)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if created.ExpiresAt == nil {
				t.Fatalf("credential has no expiry, want %d days", tt.wantDays)
			}
			if days := int(time.Until(*created.ExpiresAt).Round(time.Hour) / (24 * time.Hour)); days != tt.wantDays {
				t.Errorf("expires in %d days, want %d", days, tt.wantDays)
			}
		})
	}
}
