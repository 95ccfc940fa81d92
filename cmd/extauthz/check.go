package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatepass/gatepass/extauthz/checkclient"
)

// Exit statuses of the check command.
const (
	exitAllowed     = 0
	exitDenied      = 1
	exitCheckFailed = 2
)

func newCheckCommand() *cobra.Command {
	var (
		address string
		headers []string
		timeout time.Duration
		request checkclient.Request
	)
	command := &cobra.Command{
		Use:   "check",
		Short: "Send one Check to a running sidecar and print the decision and headers",
		Long: `Send one Check to a running sidecar, as Envoy would for the described
request, and print the decision with the headers the sidecar sets or removes.

Exit status: 0 when the request is allowed, 1 when it is denied, 2 when the
check could not be made, including a mistake on the command line.`,
		Example: `  extauthz check --token "$TOKEN" --method GET --path /reports/1
  extauthz check --addr 127.0.0.1:9191 --path /health --header 'x-auth-subject: spoofed'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.NoArgs(cmd, args); err != nil {
				return usageError(err)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			request.Headers = map[string]string{}
			for _, header := range headers {
				name, value, found := strings.Cut(header, ":")
				if !found || strings.TrimSpace(name) == "" {
					return usageError(fmt.Errorf("--header %q must look like 'name: value'", header))
				}
				request.Headers[strings.TrimSpace(name)] = strings.TrimSpace(value)
			}

			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			response, err := checkclient.Check(ctx, address, request)
			if err != nil {
				return &exitError{code: exitCheckFailed, err: err}
			}
			checkclient.Print(cmd.OutOrStdout(), response)
			if !checkclient.Allowed(response) {
				return &exitError{code: exitDenied}
			}
			return nil
		},
	}
	// An unknown flag or a bad flag value means no check was made, which
	// must not read as a denial.
	command.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageError(err)
	})

	flags := command.Flags()
	flags.StringVar(&address, "addr", "127.0.0.1:9191", "gRPC address of the sidecar, host:port")
	flags.StringVar(&request.Token, "token", "", "access token to send as 'Authorization: Bearer <token>'; empty sends none")
	flags.StringVar(&request.Method, "method", "GET", "HTTP method of the request")
	flags.StringVar(&request.Path, "path", "/", "path of the request, with an optional query")
	flags.StringVar(&request.Host, "host", "localhost", "host of the request")
	flags.StringArrayVar(&headers, "header", nil, "extra request header 'name: value'; repeat for more")
	flags.DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return command
}

// usageError marks a command-line mistake: the check was not made.
func usageError(err error) error {
	return &exitError{code: exitCheckFailed, err: fmt.Errorf("%w (see extauthz check --help)", err)}
}
