package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
)

func newCertCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cert",
		Short: "Manage client certificates",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return errors.New("cert: missing subcommand (see \"keywarden cert --help\")")
		},
	}
	cmd.AddCommand(newCertIssueCommand())
	return cmd
}

func newCertIssueCommand() *cobra.Command {
	var (
		dataDir, passphraseFile string
		name, outDir, role      string
	)
	cmd := &cobra.Command{
		Use:   "issue",
		Short: "Issue a client certificate with a role from the server's CA",
		Long: `Issue a client certificate (clientAuth) from the server's CA and write OUT/NAME.pem and
OUT/NAME-key.pem (mode 0600). The role travels inside the certificate, so nothing is
written to the store: this works while the server runs. Existing files are not
overwritten.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := pki.ParseRole(role)
			if err != nil {
				return err
			}
			initialised, err := server.Initialized(dataDir)
			if err != nil {
				return err
			}
			if !initialised {
				return fmt.Errorf("cert issue: %s is not initialised (run \"keywarden init --data-dir %s\" first)", dataDir, dataDir)
			}
			mk, err := barrier.OpenMasterKey(dataDir, passphraseFile)
			if err != nil {
				return fmt.Errorf("cert issue: %w", err)
			}
			certPath, keyPath, err := pki.IssueClient(dataDir, mk, name, r, outDir)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), certPath)
			fmt.Fprintln(cmd.OutOrStdout(), keyPath)
			return nil
		},
	}
	addDataDirFlags(cmd, &dataDir, &passphraseFile)
	cmd.Flags().StringVar(&name, "name", "", "client name: letters, digits, '.', '_', '-' (required)")
	cmd.Flags().StringVar(&outDir, "out", "", "directory for NAME.pem and NAME-key.pem (required)")
	cmd.Flags().StringVar(&role, "role", string(pki.RoleOperator), "role: admin, operator or auditor")
	_ = cmd.MarkFlagRequired("name") // only fails for an unknown flag
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
