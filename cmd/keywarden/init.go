package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
)

func newInitCommand() *cobra.Command {
	var (
		cfg      server.InitConfig
		logLevel string
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a server: master key, store, CA, server and administrator certificates",
		Long: `Create a server in the data directory: the master key, the store, a CA, a server
certificate (naming localhost, 127.0.0.1, ::1, the host name and every --san) and an
administrator client certificate at DIR/pki/admin.pem with its key at DIR/pki/admin-key.pem.
An already initialised directory is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			cfg.Logger = logger
			if err := server.Init(cmd.Context(), cfg); err != nil {
				return err
			}
			p := pki.PathsFor(cfg.DataDir)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "initialised %s\n", cfg.DataDir)
			fmt.Fprintf(out, "CA certificate:    %s\n", p.CACert)
			fmt.Fprintf(out, "admin certificate: %s\n", p.AdminCert)
			fmt.Fprintf(out, "admin key:         %s\n", p.AdminKey)
			return nil
		},
	}
	addDataDirFlags(cmd, &cfg.DataDir, &cfg.PassphraseFile)
	cmd.Flags().StringArrayVar(&cfg.SANs, "san", nil, "extra server certificate name: an IP address or a DNS name (repeatable)")
	cmd.Flags().StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	return cmd
}
