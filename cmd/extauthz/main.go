// Command extauthz runs the gatepass ext_authz sidecar, which checks the
// requests Envoy forwards against issued access tokens and a policy file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError ends the process with code. When err is set, run prints it
// first. Otherwise the command has printed its own output.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit status %d", e.code)
}

func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)

	err := root.ExecuteContext(ctx)
	var exit *exitError
	switch {
	case errors.As(err, &exit):
		if exit.err != nil {
			fmt.Fprintln(stderr, "error:", exit.err)
		}
		return exit.code
	case err != nil:
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
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
