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

func newKMIPUserCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kmip-user",
		Short: "Manage KMIP users (Username and Password credentials in KMIP request headers)",
		Long: `Manage KMIP users. A KMIP client that sends a Username and Password credential in its
request header, over a valid TLS client certificate, acts as that user: it owns the objects
it creates, and another identity gets Permission Denied on them (docs/kmip-users.md).`,
		Args: cobra.NoArgs,
		RunE: missingSubcommand,
	}
	cmd.AddCommand(newKMIPUserAddCommand(), newKMIPUserListCommand(), newKMIPUserRemoveCommand())
	return cmd
}

// kmipUserTable prints KMIP users, one row each.
func kmipUserTable(users ...client.KMIPUser) func(*tabwriter.Writer) {
	return func(w *tabwriter.Writer) {
		row(w, "NAME", "GROUP", "CREATED")
		for _, u := range users {
			row(w, u.Name, u.Group, u.Created.UTC().Format(time.RFC3339))
		}
	}
}

// readPasswordFile returns the first line of a password file.
func readPasswordFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--password-file: %w", err)
	}
	defer clear(b)
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("--password-file %s: the first line is empty", path)
	}
	return line, nil
}

func newKMIPUserAddCommand() *cobra.Command {
	var (
		r            remote
		passwordFile string
		group        string
	)
	cmd := &cobra.Command{
		Use:   "add NAME --password-file FILE [--group GROUP]",
		Short: "Add a KMIP user",
		Long: `Add a KMIP user. The password is the first line of --password-file (never a flag: it
would show in the process list); the server keeps only its Argon2id hash. The user's objects
go to --group (default "default"), which its clients' certificates must reach.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := readPasswordFile(passwordFile)
			if err != nil {
				return err
			}
			return r.with(func(c *client.Client) error {
				u, err := c.AddKMIPUser(cmd.Context(), client.KMIPUserSpec{Name: args[0], Password: password, Group: group})
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), u, kmipUserTable(*u))
			})
		},
	}
	cmd.Flags().StringVar(&passwordFile, "password-file", "", "file whose first line is the user's password (required)")
	cmd.Flags().StringVar(&group, "group", "", `device group of the user's objects (default "default")`)
	_ = cmd.MarkFlagRequired("password-file") // only fails for an unknown flag
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newKMIPUserListCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List KMIP users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return r.with(func(c *client.Client) error {
				users, err := c.KMIPUsers(cmd.Context())
				if err != nil {
					return err
				}
				return r.print(cmd.OutOrStdout(), users, kmipUserTable(users...))
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

func newKMIPUserRemoveCommand() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a KMIP user (its objects stay)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return r.with(func(c *client.Client) error {
				if err := c.RemoveKMIPUser(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "kmip user %s removed\n", args[0])
				return nil
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}
