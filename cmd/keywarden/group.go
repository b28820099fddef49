package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
)

func newGroupCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Manage device groups on a running server",
		Args:  cobra.NoArgs,
		RunE:  missingSubcommand,
	}
	cmd.AddCommand(newGroupListCommand(), newGroupShowCommand(), newGroupCreateCommand(),
		newGroupModifyCommand(), newGroupDeleteCommand(), newGroupRolloverCommand())
	return cmd
}

// groupTable prints groups as a table; NEXT ROLLOVER is the time of the
// first rollover scheduled.
func groupTable(groups ...client.Group) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "NAME", "FAMILY", "UNKNOWN", "ALIAS1", "ALIAS2", "KEY GROUP", "ALLOWED OPS", "NEXT ROLLOVER")
		for _, g := range groups {
			next := ""
			if len(g.Rollovers) > 0 {
				next = g.Rollovers[0].At.UTC().Format(time.RFC3339)
			}
			row(w, g.Name, g.Family, g.Unknown, g.Alias1, g.Alias2, g.KeyGroup, strings.Join(g.AllowedOps, ","), next)
		}
	}
}

// groupDetail prints one group and, below it, its scheduled rollovers.
func groupDetail(g client.Group) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		groupTable(g)(w)
		if len(g.Rollovers) == 0 {
			return
		}
		fmt.Fprintln(w)
		row(w, "ROLLOVER AT", "ALIAS1", "ALIAS2", "KEY GROUP", "SCHEDULED")
		for _, ro := range g.Rollovers {
			scheduled := ""
			if !ro.Scheduled.IsZero() {
				scheduled = ro.Scheduled.UTC().Format(time.RFC3339)
			}
			row(w, ro.At.UTC().Format(time.RFC3339), ro.Alias1, ro.Alias2, ro.KeyGroup, scheduled)
		}
	}
}

func newGroupListCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List device groups",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(func(c *client.Client) error {
				groups, err := c.Groups(cmd.Context())
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), groups, groupTable(groups...))
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newGroupShowCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show a device group",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				g, err := c.Group(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), g, groupDetail(*g))
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// groupFlags are the settable fields of a group.
type groupFlags struct {
	family, alias1, alias2, keyGroup, unknown string
	allowedOps                                []string
}

func addGroupFlags(cmd *cobra.Command, g *groupFlags) {
	f := cmd.Flags()
	f.StringVar(&g.family, "family", "", "device family: 3592, LTO, DS8K or GENERIC")
	f.StringVar(&g.alias1, "alias1", "", "default key label 1 (3592)")
	f.StringVar(&g.alias2, "alias2", "", "default key label 2 (3592)")
	f.StringVar(&g.keyGroup, "key-group", "", "key group served to the group's LTO drives")
	f.StringVar(&g.unknown, "unknown", "", "unknown-device policy: reject, accept or pending (default: the server's)")
	f.StringSliceVar(&g.allowedOps, "allowed-ops", nil, "KMIP operations the group's devices may use, comma-separated (default: all)")
}

func newGroupCreateCommand() *cobra.Command {
	var (
		r remote
		g groupFlags
	)
	cmd := &cobra.Command{
		Use:   "create NAME --family FAMILY",
		Short: "Create a device group",
		Long: `Create a device group. NAME starts with a letter and holds at most 16 letters, digits
and underscores; family names are reserved.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				created, err := c.CreateGroup(cmd.Context(), client.GroupSpec{
					Name: args[0], Family: g.family, Alias1: g.alias1, Alias2: g.alias2,
					KeyGroup: g.keyGroup, Unknown: g.unknown, AllowedOps: g.allowedOps,
				})
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), created, groupTable(*created))
			})
		},
	}
	addGroupFlags(cmd, &g)
	_ = cmd.MarkFlagRequired("family") // only fails for an unknown flag
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newGroupModifyCommand() *cobra.Command {
	var (
		r remote
		g groupFlags
	)
	cmd := &cobra.Command{
		Use:   "modify NAME [flags]",
		Short: "Change a device group: only the flags given change",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch := client.GroupChanges{
				Family: changed(cmd, "family", g.family), Alias1: changed(cmd, "alias1", g.alias1),
				Alias2: changed(cmd, "alias2", g.alias2), KeyGroup: changed(cmd, "key-group", g.keyGroup),
				Unknown: changed(cmd, "unknown", g.unknown),
			}
			if cmd.Flags().Changed("allowed-ops") {
				ops := g.allowedOps
				if ops == nil {
					ops = []string{}
				}
				ch.AllowedOps = &ops
			}
			if ch == (client.GroupChanges{}) {
				return fmt.Errorf("group modify: nothing to change (see %q)", cmd.CommandPath()+" --help")
			}
			return r.with(func(c *client.Client) error {
				modified, err := c.ModifyGroup(cmd.Context(), args[0], ch)
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), modified, groupTable(*modified))
			})
		},
	}
	addGroupFlags(cmd, &g)
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newGroupDeleteCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a device group that has no devices",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				if err := c.DeleteGroup(cmd.Context(), args[0]); err != nil {
					return err
				}
				return r.done(cmd, "deleted group "+args[0])
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newGroupRolloverCommand() *cobra.Command {
	var (
		r                        remote
		label1, label2, keyGroup string
		at                       string
		cancel                   bool
	)
	cmd := &cobra.Command{
		Use:   "rollover GROUP --at TIME [--label1 LABEL] [--label2 LABEL] [--key-group KEYGROUP] | --cancel --at TIME",
		Short: "Schedule (or cancel) a switch of a group's default labels or key group at a set time",
		Long: `Schedule a rollover: at TIME (RFC 3339, e.g. 2026-12-01T00:00:00Z, or "now") the group's
default labels (alias 1 and 2) and/or its LTO key group become the ones given; a flag not
given leaves that default as it is. A time already past takes effect at once. Writes
choose their labels from the defaults in effect; volumes written under the old labels or
key group stay readable. The group "default" holds the server-wide defaults, used by
drives whose own group names none. The labels and key group must exist; of two labels
one may be a partner's certificate. "group show" lists the rollovers scheduled; --cancel
removes the one at TIME.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			when, err := parseRolloverTime(at)
			if err != nil {
				return err
			}
			if cancel && (label1 != "" || label2 != "" || keyGroup != "") {
				return fmt.Errorf("group rollover: --cancel takes only --at")
			}
			if !cancel && label1 == "" && label2 == "" && keyGroup == "" {
				return fmt.Errorf("group rollover: give --label1, --label2 or --key-group (or --cancel)")
			}
			return r.with(func(c *client.Client) error {
				var g *client.Group
				if cancel {
					g, err = c.CancelRollover(cmd.Context(), args[0], when)
				} else {
					g, err = c.ScheduleRollover(cmd.Context(), args[0], client.Rollover{
						At: when, Alias1: label1, Alias2: label2, KeyGroup: keyGroup,
					})
				}
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), g, groupDetail(*g))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&at, "at", "", `when the rollover takes effect: RFC 3339 (e.g. 2026-12-01T00:00:00Z) or "now"`)
	f.StringVar(&label1, "label1", "", "new default key label 1 (alias 1)")
	f.StringVar(&label2, "label2", "", "new default key label 2 (alias 2)")
	f.StringVar(&keyGroup, "key-group", "", "new key group of the group's LTO drives")
	f.BoolVar(&cancel, "cancel", false, "cancel the rollover scheduled at --at")
	_ = cmd.MarkFlagRequired("at") // only fails for an unknown flag
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// parseRolloverTime parses --at: RFC 3339, or "now".
func parseRolloverTime(s string) (time.Time, error) {
	if strings.EqualFold(s, "now") {
		return time.Now().UTC().Truncate(time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: want an RFC 3339 time such as 2026-12-01T00:00:00Z, or now", s)
	}
	return t, nil
}
