package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatepass/gatepass/issuer/app"
	"github.com/gatepass/gatepass/issuer/config"
	"github.com/gatepass/gatepass/issuer/store/dial"
)

func newServeCommand(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the issuer's HTTP API (the default command)",
		Args:  cobra.NoArgs,
		RunE: withIssuer(cfg, func(ctx context.Context, issuer *app.Issuer, _ []string) error {
			if !cfg.IsPostgres() {
				if err := printBootstrap(ctx, issuer); err != nil {
					return err
				}
			}
			return issuer.Serve(ctx)
		}),
	}
}

func newMigrateCommand(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			if err := dial.Migrate(cmd.Context(), cfg.DatabaseURL); err != nil {
				return err
			}
			fmt.Println("migrations applied")
			return nil
		},
	}
}

// withIssuer returns a cobra RunE that opens the issuer, calls run with it
// and the command's arguments, and closes it.
func withIssuer(cfg *config.Config, run func(ctx context.Context, issuer *app.Issuer, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		issuer, err := openIssuer(cmd.Context(), cfg)
		if err != nil {
			return err
		}
		defer issuer.Close()
		return run(cmd.Context(), issuer, args)
	}
}

// openIssuer validates cfg and opens storage and keys.
func openIssuer(ctx context.Context, cfg *config.Config) (*app.Issuer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger, err := cfg.Logger()
	if err != nil {
		return nil, err
	}
	slog.SetDefault(logger)
	return app.Open(ctx, cfg, logger)
}

// printBootstrap creates and prints a first client on an empty embedded
// database, so a new user can get a token at once.
func printBootstrap(ctx context.Context, issuer *app.Issuer) error {
	created, err := issuer.Bootstrap(ctx)
	if err != nil || created == nil {
		return err
	}
	fmt.Fprintf(os.Stdout, `
First start: created client %q with a credential. The secret is shown only now.

  client_id:     %s
  client_secret: %s

Get a token:

  curl -s -X POST %s/token -d client_id=%s -d client_secret=%s

`, created.ClientID, created.ClientID, created.Secret, issuer.Config.IssuerURL, created.ClientID, created.Secret)
	return nil
}
