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
An already initialised directory is refused.

--seal chooses where the master key lives: file (raw, mode 0600: the weakest), passphrase
(sealed under --passphrase-file) or pkcs11: a non-extractable AES-256 key generated in the
HSM token --token-label reached through --pkcs11-module, logged in with the user PIN of
--pin-file or $KEYWARDEN_PKCS11_PIN. DIR/master.key then records the module, the token
and the key label, never the PIN. See docs/hsm.md.`,
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
	cmd.Flags().StringVar(&cfg.Seal, "seal", "", "master key provider: file, passphrase or pkcs11 (default passphrase with --passphrase-file, else file)")
	cmd.Flags().StringVar(&cfg.PKCS11.Module, "pkcs11-module", "", "PKCS#11 library of the HSM, for --seal pkcs11 (e.g. /usr/lib/softhsm/libsofthsm2.so)")
	cmd.Flags().StringVar(&cfg.PKCS11.TokenLabel, "token-label", "", "label of the HSM token that holds the master key, for --seal pkcs11")
	cmd.Flags().StringVar(&cfg.PKCS11.KeyLabel, "key-label", "", "label of the master key in the token (default keywarden-master-<random>)")
	addPINFlag(cmd, &cfg.PINFile)
	cmd.Flags().StringArrayVar(&cfg.SANs, "san", nil, "extra server certificate name: an IP address or a DNS name (repeatable)")
	cmd.Flags().StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	return cmd
}
