package main

import (
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
)

func newKeyGroupCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keygroup",
		Short: "Manage LTO key groups (pre-generated AES-256 keys by alias)",
		Args:  cobra.NoArgs,
		RunE:  missingSubcommand,
	}
	cmd.AddCommand(newKeyGroupCreateCommand(), newKeyGroupListCommand(), newKeyGroupShowCommand())
	return cmd
}

// keyGroupTable prints key groups as a table, one row per group.
func keyGroupTable(groups ...client.KeyGroup) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "NAME", "KEYS", "FIRST", "LAST", "ACTIVE")
		for _, g := range groups {
			first, last, active := "", "", 0
			if n := len(g.Keys); n > 0 {
				first, last = g.Keys[0].Alias, g.Keys[n-1].Alias
			}
			for _, k := range g.Keys {
				if strings.EqualFold(k.State, "Active") {
					active++
				}
			}
			row(w, g.Name, strconv.Itoa(len(g.Keys)), first, last, strconv.Itoa(active))
		}
	}
}

// keyGroupKeyTable prints the keys of one group.
func keyGroupKeyTable(g client.KeyGroup) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "ALIAS", "STATE", "OBJECT ID")
		for _, k := range g.Keys {
			row(w, k.Alias, k.State, k.ObjectID)
		}
	}
}

func newKeyGroupCreateCommand() *cobra.Command {
	var (
		r       remote
		aliases string
	)
	cmd := &cobra.Command{
		Use:   "create NAME --aliases des01-1f",
		Short: "Create an LTO key group: one new AES-256 key per alias",
		Long: `Create an LTO key group. NAME follows the device group rules. --aliases is a
symmetricKeySet alias set: single aliases and hexadecimal ranges, comma-separated
(des01-1f is des01 … des1f). Each key is a KMIP Symmetric Key named by its alias.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				g, err := c.CreateKeyGroup(cmd.Context(), client.KeyGroupSpec{Name: args[0], Aliases: aliases})
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), g, keyGroupTable(*g))
			})
		},
	}
	cmd.Flags().StringVar(&aliases, "aliases", "", "alias set, e.g. des01-1f (required)")
	_ = cmd.MarkFlagRequired("aliases")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newKeyGroupListCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List LTO key groups",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(func(c *client.Client) error {
				groups, err := c.KeyGroups(cmd.Context())
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), groups, keyGroupTable(groups...))
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newKeyGroupShowCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show an LTO key group's keys",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				g, err := c.KeyGroup(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), g, keyGroupKeyTable(*g))
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}
