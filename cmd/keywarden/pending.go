package main

import (
	"errors"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
)

func newPendingCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pending",
		Short: "List and settle devices and client certificates waiting for approval",
		Args:  cobra.NoArgs,
		RunE:  missingSubcommand,
	}
	cmd.AddCommand(newPendingListCommand(), newPendingAcceptCommand(), newPendingRejectCommand())
	return cmd
}

func newPendingListCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List pending devices (approve with \"device approve\") and certificates (\"pending accept\")",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(func(c *client.Client) error {
				p, err := c.Pending(cmd.Context())
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), p, func(w *tabwriter.Writer) {
					row(w, "KIND", "ID / FINGERPRINT", "FAMILY / SUBJECT", "SERIAL", "GROUP / REMOTE", "LAST SEEN")
					for _, d := range p.Devices {
						row(w, "device", d.ID, d.Family, d.Serial, d.Group, formatTime(d.LastSeen))
					}
					for _, pc := range p.Certs {
						row(w, "certificate", pc.Fingerprint, pc.Subject, pc.Serial, pc.RemoteAddr, formatTime(pc.LastSeen))
					}
				})
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newPendingAcceptCommand() *cobra.Command {
	var (
		r     remote
		group string
	)
	cmd := &cobra.Command{
		Use:   "accept FINGERPRINT --group GROUP",
		Short: "Accept a pending client certificate: it becomes a device of GROUP",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if group == "" {
				return errors.New("pending accept: --group is required")
			}
			return r.with(func(c *client.Client) error {
				d, err := c.AcceptCert(cmd.Context(), args[0], group)
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), d, deviceDetail(*d))
			})
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "device group of the accepted certificate (required)")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newPendingRejectCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "reject FINGERPRINT",
		Short: "Reject a pending client certificate: it is refused from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				if err := c.RejectCert(cmd.Context(), args[0]); err != nil {
					return err
				}
				return r.done(cmd, "rejected certificate "+args[0])
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// formatTime prints t in RFC 3339, or nothing when zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}
