package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
)

func newKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "List, inspect and destroy managed objects on a running server (metadata only)",
		Args:  cobra.NoArgs,
		RunE:  missingSubcommand,
	}
	cmd.AddCommand(newKeyListCommand(), newKeyShowCommand(), newKeyDestroyCommand())
	return cmd
}

// keyTable prints keys as a table.
func keyTable(keys ...client.Key) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "ID", "TYPE", "GROUP", "STATE", "ALGORITHM", "LENGTH", "NAMES", "CREATED")
		for _, k := range keys {
			length := ""
			if k.Length > 0 {
				length = strconv.Itoa(int(k.Length))
			}
			state := k.State
			if k.Archived {
				state += " (archived)"
			}
			row(w, k.ID, k.Type, k.Group, state, k.Algorithm, length, strings.Join(k.Names, ","), formatTime(k.Created))
		}
	}
}

// keyDetail prints one key and its attributes.
func keyDetail(k client.Key) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		keyTable(k)(w)
		if len(k.Attributes) == 0 {
			return
		}
		fmt.Fprintln(w)
		row(w, "ATTRIBUTE", "INDEX", "VALUE")
		for _, a := range k.Attributes {
			row(w, a.Name, strconv.Itoa(int(a.Index)), string(a.Value))
		}
	}
}

func newKeyListCommand() *cobra.Command {
	var (
		r remote
		f client.KeyFilter
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List managed objects (without --state, destroyed ones are left out)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(func(c *client.Client) error {
				keys, total, err := c.Keys(cmd.Context(), f)
				if err != nil {
					return err
				}
				if err := r.print(cmd.OutOrStdout(), keys, keyTable(keys...)); err != nil {
					return err
				}
				if r.output != "json" && total > len(keys)+f.Offset {
					fmt.Fprintf(cmd.ErrOrStderr(), "showing %d of %d; see --limit and --offset\n", len(keys), total)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&f.Group, "group", "", "only objects of this group")
	cmd.Flags().StringVar(&f.Type, "type", "", "only objects of this KMIP type (SymmetricKey, PrivateKey, ...)")
	cmd.Flags().StringVar(&f.State, "state", "", "only objects in this KMIP state (PreActive, Active, Destroyed, ...)")
	cmd.Flags().IntVar(&f.Limit, "limit", 0, "at most this many objects (default: the server's page, 1000)")
	cmd.Flags().IntVar(&f.Offset, "offset", 0, "skip this many objects")
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newKeyShowCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a managed object's metadata and attributes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				k, err := c.Key(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), k, keyDetail(*k))
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newKeyDestroyCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "destroy ID",
		Short: "Destroy a managed object's key material (administrators only; the object must not be Active)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				k, err := c.DestroyKey(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), k, keyTable(*k))
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}
