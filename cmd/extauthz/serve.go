package main

import (
	"github.com/spf13/cobra"

	"github.com/gatepass/gatepass/extauthz/config"
	"github.com/gatepass/gatepass/extauthz/server"
)

func newServeCommand() *cobra.Command {
	command := &cobra.Command{
		Use:   "serve",
		Short: "Serve envoy.service.auth.v3.Authorization over gRPC (the default command)",
		Long: `Serve envoy.service.auth.v3.Authorization/Check, grpc.health.v1 and server
reflection over gRPC, and Prometheus metrics over HTTP.

Every flag can also be set through the environment variable named in its
help; a flag on the command line wins. SIGHUP reloads the policy file, and
an invalid file keeps the previous policy.`,
		Args: cobra.NoArgs,
	}
	cfg := config.Bind(command.Flags())
	command.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := cfg.Load(cmd.Flags()); err != nil {
			return err
		}
		logger, err := cfg.Logger()
		if err != nil {
			return err
		}
		sidecar, err := server.New(cfg, logger)
		if err != nil {
			return err
		}
		return sidecar.Run(cmd.Context())
	}
	return command
}
