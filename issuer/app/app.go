// Package app assembles a running issuer from its configuration: storage,
// the key-encryption key, signing keys, the HTTP API and its background
// loops. The commands in cmd/issuer only parse flags and call it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gatepass/gatepass/issuer/config"
	"github.com/gatepass/gatepass/issuer/keys"
	"github.com/gatepass/gatepass/issuer/keys/kek"
	"github.com/gatepass/gatepass/issuer/secret"
	"github.com/gatepass/gatepass/issuer/store"
	"github.com/gatepass/gatepass/issuer/store/dial"
	"github.com/prometheus/client_golang/prometheus"
)

// secretHashLabel derives the key that hashes credential secrets and
// refresh tokens from the key-encryption key.
const secretHashLabel = "gatepass credential secret hash v1"

// Issuer is an opened issuer: storage and key material ready for use.
type Issuer struct {
	Config   *config.Config
	Store    store.Store
	KEK      *kek.Key
	Keys     *keys.Manager
	Secrets  *secret.Codec
	Logger   *slog.Logger
	Registry *prometheus.Registry
}

// Open connects to storage (running migrations), loads the key-encryption
// key and makes sure a signing key exists.
func Open(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*Issuer, error) {
	st, err := dial.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("opening storage: %w", err)
	}

	issuer, err := assemble(ctx, cfg, st, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	return issuer, nil
}

func assemble(ctx context.Context, cfg *config.Config, st store.Store, logger *slog.Logger) (*Issuer, error) {
	encryptionKey, err := loadKEK(cfg)
	if err != nil {
		return nil, err
	}

	secrets, err := secret.NewCodec(cfg.SecretPrefix, encryptionKey.DeriveKey(secretHashLabel))
	if err != nil {
		return nil, err
	}

	registry := prometheus.NewRegistry()
	manager, err := keys.NewManager(st, encryptionKey, keys.Config{
		Algorithm:       cfg.SigningAlgorithm,
		TokenTTL:        cfg.TokenTTL,
		RotationPeriod:  cfg.KeyRotationPeriod,
		PublishAhead:    2 * cfg.JWKSMaxAge,
		RefreshInterval: cfg.KeyRefresh,
		Logger:          logger,
		Registerer:      registry,
	})
	if err != nil {
		return nil, fmt.Errorf("starting signing keys: %w", err)
	}
	if err := manager.Start(ctx); err != nil {
		return nil, fmt.Errorf("preparing signing keys: %w", err)
	}

	return &Issuer{Config: cfg, Store: st, KEK: encryptionKey, Keys: manager, Secrets: secrets, Logger: logger, Registry: registry}, nil
}

// loadKEK reads the key-encryption key from the configuration, or for the
// embedded default from a key file beside the database.
func loadKEK(cfg *config.Config) (*kek.Key, error) {
	if cfg.KeyEncryptionKey != "" {
		key, err := kek.Parse(cfg.KeyEncryptionKey)
		if err != nil {
			return nil, fmt.Errorf("GATEPASS_KEY_ENCRYPTION_KEY: %w", err)
		}
		return key, nil
	}
	if cfg.IsPostgres() {
		return nil, errors.New("GATEPASS_KEY_ENCRYPTION_KEY is required with PostgreSQL")
	}

	key, err := kek.LoadOrCreateFile(cfg.KeyFilePath())
	if err != nil {
		return nil, fmt.Errorf("key-encryption key file: %w", err)
	}
	return key, nil
}

// Close releases storage.
func (i *Issuer) Close() error {
	return i.Store.Close()
}
