package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

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
		newGroupModifyCommand(), newGroupDeleteCommand())
	return cmd
}

// groupTable prints groups as a table.
func groupTable(groups ...client.Group) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "NAME", "FAMILY", "UNKNOWN", "ALIAS1", "ALIAS2", "KEY GROUP", "ALLOWED OPS")
		for _, g := range groups {
			row(w, g.Name, g.Family, g.Unknown, g.Alias1, g.Alias2, g.KeyGroup, strings.Join(g.AllowedOps, ","))
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
			c, err := r.client()
			if err != nil {
				return err
			}
			defer c.Close()
			groups, err := c.Groups(cmd.Context())
			if err != nil {
				return err
			}
			return r.print(cmd.OutOrStdout(), groups, groupTable(groups...))
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
			c, err := r.client()
			if err != nil {
				return err
			}
			defer c.Close()
			g, err := c.Group(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return r.print(cmd.OutOrStdout(), g, groupTable(*g))
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
			c, err := r.client()
			if err != nil {
				return err
			}
			defer c.Close()
			created, err := c.CreateGroup(cmd.Context(), client.GroupSpec{
				Name: args[0], Family: g.family, Alias1: g.alias1, Alias2: g.alias2,
				KeyGroup: g.keyGroup, Unknown: g.unknown, AllowedOps: g.allowedOps,
			})
			if err != nil {
				return err
			}
			return r.print(cmd.OutOrStdout(), created, groupTable(*created))
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
			c, err := r.client()
			if err != nil {
				return err
			}
			defer c.Close()
			modified, err := c.ModifyGroup(cmd.Context(), args[0], ch)
			if err != nil {
				return err
			}
			return r.print(cmd.OutOrStdout(), modified, groupTable(*modified))
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
			c, err := r.client()
			if err != nil {
				return err
			}
			defer c.Close()
			if err := c.DeleteGroup(cmd.Context(), args[0]); err != nil {
				return err
			}
			return r.done(cmd, "deleted group "+args[0])
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}
