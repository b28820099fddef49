package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/internal/backup"
	"github.com/keywarden/keywarden/internal/barrier"
)

func newRestoreCommand() *cobra.Command {
	var (
		in, pfile, dataDir, output string
		mko                        barrier.MasterKeyOptions
		logLevel                   string
	)
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore a backup into a new data directory, after verifying all of it",
		Long: `Restore the backup --in into --data-dir, which must be absent or empty. The whole file is
read and verified first (every chunk authenticated, every entry checked): a wrong
passphrase, a damaged or a truncated file is refused and nothing is written.

The restored server gets a new master key — raw in DIR/master.key (mode 0600) by default,
sealed under --master-passphrase-file, or in an HSM with --seal pkcs11 — and its keyring
and private keys are wrapped under it; the backup never carried the old master key. Then
"keywarden serve --data-dir DIR" (with --passphrase-file for a sealed master key) serves
the same objects under the same ids, to the same client certificates.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" || pfile == "" || dataDir == "" {
				return errors.New("restore: --in, --passphrase-file and --data-dir are required")
			}
			if err := checkOutput(output); err != nil {
				return err
			}
			logger, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			passphrase, err := readBackupPassphrase(pfile)
			if err != nil {
				return err
			}
			defer clear(passphrase)
			m, err := backup.Restore(cmd.Context(), in, dataDir, passphrase, backup.RestoreOptions{MasterKey: mko, Logger: logger})
			if err != nil {
				return restoreError(err)
			}
			r := remote{output: output}
			res := &backupResult{File: in, DataDir: dataDir, Manifest: m}
			return r.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "restored %s into %s (snapshot %s, master key %s)\n", in, dataDir,
					m.Created.Format(time.RFC3339), masterKind(mko))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&in, "in", "", "backup file to restore")
	f.StringVar(&pfile, "passphrase-file", "", "file whose first line is the backup passphrase")
	f.StringVar(&dataDir, "data-dir", "", "new data directory (absent or empty)")
	f.StringVar(&mko.PassphraseFile, "master-passphrase-file", "", "seal the new master key under the passphrase in this file (serve then needs --passphrase-file with it)")
	f.StringVar(&mko.Seal, "seal", "", "new master key provider: file, passphrase or pkcs11 (default passphrase with --master-passphrase-file, else file)")
	f.StringVar(&mko.PKCS11.Module, "pkcs11-module", "", "PKCS#11 library of the HSM, for --seal pkcs11")
	f.StringVar(&mko.PKCS11.TokenLabel, "token-label", "", "label of the HSM token, for --seal pkcs11")
	f.StringVar(&mko.PKCS11.KeyLabel, "key-label", "", "label of the new master key in the token")
	addPINFlag(cmd, &mko.PINFile)
	addOutputFlag(cmd, &output)
	f.StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	return cmd
}

// masterKind names the master key a restore creates.
func masterKind(o barrier.MasterKeyOptions) string {
	switch {
	case o.Seal != "":
		return o.Seal
	case o.PassphraseFile != "":
		return barrier.KindPassphrase
	}
	return barrier.KindFile
}

// restoreError adds what to do to the backup package's errors.
func restoreError(err error) error {
	switch {
	case errors.Is(err, backup.ErrWrongPassphrase):
		return fmt.Errorf("restore: wrong passphrase for this backup (nothing was written): %w", err)
	case errors.Is(err, backup.ErrTruncated), errors.Is(err, backup.ErrDamaged):
		return fmt.Errorf("restore: the backup file is damaged; restore another copy (nothing was written): %w", err)
	case errors.Is(err, backup.ErrNotBackup):
		return fmt.Errorf("restore: %w", err)
	}
	return fmt.Errorf("restore: %w", err)
}
