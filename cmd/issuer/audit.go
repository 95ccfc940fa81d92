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
	"github.com/gatepass/gatepass/issuer/store"
)

func newAuditCommand(cfg *config.Config) *cobra.Command {
	var filter store.AuditFilter
	audit := &cobra.Command{
		Use:   "audit",
		Short: "List audit events, newest first",
		Args:  cobra.NoArgs,
		RunE: withIssuer(cfg, func(ctx context.Context, issuer *app.Issuer, _ []string) error {

			events, err := issuer.Store.ListAudit(ctx, filter)
			if err != nil {
				return err
			}
			table := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(table, "TIME\tACTION\tACTOR\tCLIENT_ID\tCREDENTIAL_ID\tDETAIL")
			for _, event := range events {
				fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%s\n", event.Time.UTC().Format(time.RFC3339), event.Action, event.Actor, event.ClientID, event.CredentialID, event.Detail)
			}
			return table.Flush()
		}),
	}
	audit.Flags().StringVar(&filter.ClientID, "client", "", "only events of this client id")
	audit.Flags().StringVar(&filter.Action, "action", "", "only events with this action, such as credential.revoked")
	audit.Flags().IntVar(&filter.Limit, "limit", 100, "maximum number of events")
	return audit
}
