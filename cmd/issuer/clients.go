package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatepass/gatepass/issuer/app"
	"github.com/gatepass/gatepass/issuer/config"
)

func newClientsCommand(cfg *config.Config) *cobra.Command {
	clients := &cobra.Command{Use: "clients", Short: "Create, list, disable and enable clients"}

	clients.AddCommand(&cobra.Command{
		Use:   "create CLIENT_ID",
		Short: "Register a client",
		Args:  cobra.ExactArgs(1),
		RunE: withIssuer(cfg, func(ctx context.Context, issuer *app.Issuer, args []string) error {
			if err := issuer.CreateClient(ctx, args[0]); err != nil {
				return err
			}
			fmt.Printf("client %s created; add a credential with: issuer credentials create %s\n", args[0], args[0])
			return nil
		}),
	})

	clients.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List every client",
		Args:  cobra.NoArgs,
		RunE: withIssuer(cfg, func(ctx context.Context, issuer *app.Issuer, _ []string) error {
			list, err := issuer.Store.ListClients(ctx)
			if err != nil {
				return err
			}
			table := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(table, "CLIENT_ID\tSTATUS\tCREATED_AT")
			for _, client := range list {
				status := "active"
				if client.Disabled {
					status = "disabled"
				}
				fmt.Fprintf(table, "%s\t%s\t%s\n", client.ID, status, client.CreatedAt.UTC().Format(time.RFC3339))
			}
			return table.Flush()
		}),
	})

	for _, disable := range []bool{true, false} {
		verb := map[bool]string{true: "disable", false: "enable"}[disable]
		clients.AddCommand(&cobra.Command{
			Use:   verb + " CLIENT_ID",
			Short: strings.ToUpper(verb[:1]) + verb[1:] + " a client; a disabled client's credentials and tokens stop working at the issuer",
			Args:  cobra.ExactArgs(1),
			RunE: withIssuer(cfg, func(ctx context.Context, issuer *app.Issuer, args []string) error {
				if err := issuer.SetClientDisabled(ctx, args[0], disable); err != nil {
					return err
				}
				fmt.Printf("client %s %sd\n", args[0], verb)
				return nil
			}),
		})
	}
	return clients
}

func newCredentialsCommand(cfg *config.Config) *cobra.Command {
	credentials := &cobra.Command{Use: "credentials", Short: "Create client credentials from a shell"}

	var request app.NewCredential
	var scopes, permissions string
	var output string
	create := &cobra.Command{
		Use:   "create CLIENT_ID",
		Short: "Create a credential and print its secret once; registers the client if needed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			request.ClientID = args[0]
			request.RegisterClient = true
			request.Scopes = strings.Fields(scopes)
			if permissions != "" {
				if err := json.Unmarshal([]byte(permissions), &request.Permissions); err != nil {
					return fmt.Errorf("--permissions must be a JSON list of string lists such as '[[\"analytics.*\",\"reader\"]]': %w", err)
				}
			}

			issuer, err := openIssuer(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer issuer.Close()
			created, err := issuer.CreateCredential(cmd.Context(), request)
			if err != nil {
				return err
			}
			return printCreated(created, output)
		},
	}
	create.Flags().StringVar(&request.Type, "type", "interactive", "credential type label")
	create.Flags().StringVar(&scopes, "scopes", "", "space-separated scopes the credential may request")
	create.Flags().StringVar(&permissions, "permissions", "", "JSON list of string lists carried verbatim into tokens")
	create.Flags().DurationVar(&request.ExpiresIn, "expires-in", 90*24*time.Hour, "credential lifetime, a Go duration; 0 means no expiry")
	create.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	credentials.AddCommand(create)
	return credentials
}

func printCreated(created app.CreatedCredential, output string) error {
	switch output {
	case "json":
		return json.NewEncoder(os.Stdout).Encode(map[string]any{
			"client_id": created.ClientID, "credential_id": created.CredentialID, "secret": created.Secret, "expires_at": created.ExpiresAt,
		})
	case "text":
		fmt.Printf("client_id:     %s\ncredential_id: %s\nclient_secret: %s\n", created.ClientID, created.CredentialID, created.Secret)
		if created.ExpiresAt != nil {
			fmt.Printf("expires_at:    %s\n", created.ExpiresAt.Format(time.RFC3339))
		}
		fmt.Println("The secret is shown only now; store it safely.")
		return nil
	}
	return fmt.Errorf("--output %q: use text or json", output)
}
