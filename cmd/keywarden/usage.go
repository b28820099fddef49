package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
)

func newUsageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Query, export and import key-usage records (which volumes a key protects)",
		Args:  cobra.NoArgs,
		RunE:  missingSubcommand,
	}
	cmd.AddCommand(newUsageListCommand(), newUsageExportCommand(), newUsageImportCommand())
	return cmd
}

// usageFlags are the filters of usage list and export.
type usageFlags struct {
	volser, label, serial, since string
	limit                        int
}

func addUsageFlags(cmd *cobra.Command, u *usageFlags) {
	f := cmd.Flags()
	f.StringVar(&u.volser, "volser", "", "only this volume serial")
	f.StringVar(&u.label, "label", "", "only records naming this key label (alias 1 or 2) or LTO key identifier")
	f.StringVar(&u.serial, "serial", "", "only this drive serial number")
	f.StringVar(&u.since, "since", "", "only records from this time: RFC 3339 (2024-03-01T12:00:00Z) or a duration back from now (24h)")
	f.IntVar(&u.limit, "limit", 0, "at most this many records, oldest first (list default: the server's, 1000)")
}

// filter turns the flags into a client filter.
func (u usageFlags) filter(now time.Time) (client.UsageFilter, error) {
	f := client.UsageFilter{Volser: u.volser, Alias: u.label, DriveSerial: u.serial, Limit: u.limit}
	if u.limit < 0 {
		return f, fmt.Errorf("--limit %d: want 0 or more", u.limit)
	}
	if u.since != "" {
		if t, err := time.Parse(time.RFC3339, u.since); err == nil {
			f.From = t
		} else if d, err := time.ParseDuration(u.since); err == nil && d > 0 {
			f.From = now.Add(-d)
		} else {
			return f, fmt.Errorf("--since %q: want an RFC 3339 time (2024-03-01T12:00:00Z) or a positive duration (24h)", u.since)
		}
	}
	return f, nil
}

// usageTable prints records as a table.
func usageTable(recs []client.UsageRecord) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "TIME", "PROTOCOL", "OPERATION", "OUTCOME", "DRIVE", "WWN", "VOLSER", "ALIAS1", "ALIAS2", "KEY ID", "REASON")
		for _, r := range recs {
			row(w, r.Time.UTC().Format(time.RFC3339), r.Protocol, r.Operation, r.Outcome, r.DriveSerial, r.WWN,
				r.Volser, r.Alias1, r.Alias2, r.KeyID, r.Reason)
		}
	}
}

func newUsageListCommand() *cobra.Command {
	var (
		r remote
		u usageFlags
	)
	cmd := &cobra.Command{
		Use:   "list [--volser V] [--label LABEL] [--serial S] [--since T]",
		Short: "List key-usage records, oldest first",
		Long: `List the keys served and refused. --label lists every volume written with a key
label (as alias 1 or alias 2) or LTO key identifier: what disposal or a compromise of
that key must consider.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := u.filter(time.Now())
			if err != nil {
				return err
			}
			return r.with(func(c *client.Client) error {
				recs, err := c.Usage(cmd.Context(), f)
				if err != nil {
					return err
				}
				if recs == nil {
					recs = []client.UsageRecord{}
				}
				return r.print(cmd.OutOrStdout(), recs, usageTable(recs))
			})
		},
	}
	addUsageFlags(cmd, &u)
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// checkFormat accepts the one file format of export and import.
func checkFormat(format string) error {
	if !strings.EqualFold(format, "xml") {
		return fmt.Errorf("--format %q: want xml (the KeyUsageEvent format of EKM and ISKLM)", format)
	}
	return nil
}

func newUsageExportCommand() *cobra.Command {
	var (
		r      remote
		u      usageFlags
		format string
	)
	cmd := &cobra.Command{
		Use:   "export --format xml [filters] > FILE",
		Short: "Write the usage records that name a volume in the seed's KeyUsageEvent XML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			f, err := u.filter(time.Now())
			if err != nil {
				return err
			}
			return r.with(func(c *client.Client) error {
				xml, err := c.ExportUsage(cmd.Context(), f)
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(xml)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "xml", "file format: xml")
	addUsageFlags(cmd, &u)
	addRemoteFlags(cmd, &r, "cert")
	_ = cmd.Flags().MarkHidden("output") // only fails for an unknown flag
	return cmd
}

func newUsageImportCommand() *cobra.Command {
	var (
		r      remote
		format string
	)
	cmd := &cobra.Command{
		Use:   "import --format xml FILE",
		Short: "Import a KeyUsageEvent XML file (EKM/ISKLM metadata): all of it, or nothing",
		Long: `Import a KeyUsageEvent XML file, such as EKM's or ISKLM's SKLMData.xml. A malformed
file is refused with the line of the problem, and nothing is imported. Admin only.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			file, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("usage import: %w", err)
			}
			defer file.Close()
			return r.with(func(c *client.Client) error {
				n, err := c.ImportUsage(cmd.Context(), file)
				if err != nil {
					return fmt.Errorf("usage import %s: %w", args[0], err)
				}
				if r.output == "json" {
					return printJSON(cmd.OutOrStdout(), map[string]int{"imported": n})
				}
				return r.done(cmd, fmt.Sprintf("imported %d usage records from %s", n, args[0]))
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "xml", "file format: xml")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}
