package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatepass/gatepass/issuer/app"
	"github.com/gatepass/gatepass/issuer/config"
)

func newKeysCommand(cfg *config.Config) *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "List, rotate and retire signing keys"}

	keys.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List signing keys with their state: next, active or retired",
		Args:  cobra.NoArgs,
		RunE: withIssuer(cfg, func(ctx context.Context, issuer *app.Issuer, _ []string) error {

			list, err := issuer.Keys.List(ctx)
			if err != nil {
				return err
			}
			table := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(table, "KID\tALG\tSTATE\tCREATED_AT\tACTIVATES_AT\tRETIRED_AT\tEXPIRES_AT")
			for _, key := range list {
				fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", key.ID, key.Algorithm, key.State,
					formatTime(&key.CreatedAt), formatTime(&key.ActivatesAt), formatTime(key.RetiredAt), formatTime(key.ExpiresAt))
			}
			return table.Flush()
		}),
	})

	keys.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Make the next signing key active now; the previous key stays published until its tokens expire",
		Args:  cobra.NoArgs,
		RunE: withIssuer(cfg, func(ctx context.Context, issuer *app.Issuer, _ []string) error {
			if err := issuer.Keys.Rotate(ctx); err != nil {
				return err
			}
			fmt.Println("signing key rotated; running issuers pick it up within their key refresh interval")
			return nil
		}),
	})

	keys.AddCommand(&cobra.Command{
		Use:   "retire KID",
		Short: "Emergency: stop signing with KID and unpublish it at once, so tokens it signed stop verifying",
		Args:  cobra.ExactArgs(1),
		RunE: withIssuer(cfg, func(ctx context.Context, issuer *app.Issuer, args []string) error {
			if err := issuer.Keys.Retire(ctx, args[0]); err != nil {
				return err
			}
			fmt.Printf("key %s retired and unpublished\n", args[0])
			return nil
		}),
	})
	return keys
}

func formatTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
