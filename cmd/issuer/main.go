// Command issuer runs the gatepass token issuer and its operator commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gatepass/gatepass/issuer/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "issuer",
		Short:         "gatepass token issuer: client credentials in, short-lived JWT access tokens out",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cfg := config.Bind(root.PersistentFlags())

	serve := newServeCommand(cfg)
	root.RunE = serve.RunE
	root.AddCommand(serve, newMigrateCommand(cfg), newClientsCommand(cfg), newCredentialsCommand(cfg), newKeysCommand(cfg), newAuditCommand(cfg))
	return root
}
