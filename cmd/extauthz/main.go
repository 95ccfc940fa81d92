// Command extauthz runs the gatepass ext_authz sidecar, which checks the
// requests Envoy forwards against issued access tokens and a policy file.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError ends the process with code, after the command has printed its
// output.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	err := newRootCommand().ExecuteContext(ctx)
	var exit *exitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.code)
	case err != nil:
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	serve := newServeCommand()
	root := &cobra.Command{
		Use:           "extauthz",
		Short:         "gatepass ext_authz sidecar: checks Envoy requests against access tokens and a policy",
		Long:          serve.Long,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Running extauthz without a command serves, with the same flags.
	root.Flags().AddFlagSet(serve.Flags())
	root.RunE = serve.RunE
	root.AddCommand(serve, newCheckCommand())
	return root
}
