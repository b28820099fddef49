package main

import (
	"fmt"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
)

func newStatusCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a running server's version, listeners, table sizes and certificate expiry",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(func(c *client.Client) error {
				st, err := c.Status(cmd.Context())
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), st, func(w *tabwriter.Writer) {
					row(w, "version", st.Version)
					row(w, "uptime", (time.Duration(st.UptimeSeconds) * time.Second).String())
					fips := "off"
					if st.FIPS {
						fips = "on (Go FIPS 140-3 module)"
					}
					row(w, "fips mode", fips)
					if st.MasterKey != "" {
						row(w, "master key", st.MasterKey)
					}
					names := make([]string, 0, len(st.Listeners))
					for name := range st.Listeners {
						names = append(names, name)
					}
					sort.Strings(names)
					for _, name := range names {
						row(w, name+" listener", st.Listeners[name])
					}
					n := st.Counts
					row(w, "keys", strconv.Itoa(n.Keys))
					row(w, "groups", strconv.Itoa(n.Groups))
					row(w, "devices", fmt.Sprintf("%d (%d pending)", n.Devices, n.PendingDevices))
					row(w, "pending certificates", strconv.Itoa(n.PendingCerts))
					row(w, "revoked certificates", strconv.Itoa(n.RevokedCerts))
					for _, cs := range st.Certificates {
						note := fmt.Sprintf("expires %s (%d days)", cs.NotAfter.Format(time.DateOnly), cs.DaysLeft)
						if cs.NearExpiry {
							note += "  NEAR EXPIRY"
						}
						row(w, cs.Name+" certificate", note)
					}
				})
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}
