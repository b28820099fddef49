package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/store"
)

func newMasterKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "masterkey",
		Short: "Rotate the master key that wraps the keyring and the server's private keys",
		Args:  cobra.NoArgs,
		RunE:  missingSubcommand,
	}
	cmd.AddCommand(newMasterKeyRotateCommand())
	return cmd
}

func newMasterKeyRotateCommand() *cobra.Command {
	var (
		r   remote
		off offline
		to  barrier.MasterKeyOptions
	)
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Replace the master key by a new one of any kind (file, passphrase, pkcs11)",
		Long: `Replace the master key of a stopped server's data directory by a new one: --seal file,
passphrase (--new-passphrase-file) or pkcs11 (--pkcs11-module, --token-label, --new-pin-file;
a new non-extractable key is generated in the token). The keyring in the store and the
sealed CA and server keys are re-wrapped under the new key, the new key takes the old one's
place in DIR/master.key, and the old key is destroyed: a file key's file is overwritten, a
PKCS#11 key is deleted from its token. The stored records are not touched (keyring rotation
is keywarden keyring rotate).

The current key is opened with --passphrase-file or --pin-file ($KEYWARDEN_PKCS11_PIN).
An interrupted rotation leaves DIR/master-key-rotation behind; the server refuses to start
until the same command is run again, which finishes it.

Without --data-dir the running server rotates its own master key (admin API, POST
/v1/masterkey/rotate); --new-passphrase-file, --new-pin-file and --pkcs11-module then name
files on the server's machine. Restart the server later with the new key's options. See
docs/hsm.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to.Seal == "" {
				return errors.New("masterkey rotate: --seal file|passphrase|pkcs11 is required")
			}
			if !cmd.Flags().Changed("data-dir") {
				return r.with(func(c *client.Client) error {
					out, err := c.RotateMasterKey(cmd.Context(), client.MasterKeySpec{
						Seal: to.Seal, PassphraseFile: to.PassphraseFile, PINFile: to.PINFile,
						PKCS11Module: to.PKCS11.Module, TokenLabel: to.PKCS11.TokenLabel, KeyLabel: to.PKCS11.KeyLabel,
					})
					if err != nil {
						return err
					}
					return r.print(cmd.OutOrStdout(), out, func(w *tabwriter.Writer) {
						row(w, "master key rotated", out.Old+" → "+out.New)
						row(w, "old key", "destroyed")
					})
				})
			}
			if to.Seal == barrier.KindPKCS11 && to.PINFile == "" {
				to.PINFile = off.pinFile
			}
			st, err := store.OpenBolt(filepath.Join(off.dataDir, server.StoreFile), store.BoltOptions{})
			if err != nil {
				if errors.Is(err, store.ErrInUse) {
					return fmt.Errorf("%w: stop the server first (the master key is rotated offline)", err)
				}
				return err
			}
			defer st.Close()
			var files []barrier.SealedFileRef
			for _, f := range pki.SealedFiles(off.dataDir) {
				files = append(files, barrier.SealedFileRef{Path: f.Path, Purpose: f.Purpose})
			}
			old := barrier.MasterKeyOptions{PassphraseFile: off.passphraseFile, PINFile: off.pinFile}
			mk, info, err := barrier.RotateMasterKey(cmd.Context(), off.dataDir, st, files, old, to, nil)
			if err != nil {
				return err
			}
			closeMasterKeyOf(mk)
			if info.Resumed {
				fmt.Fprintln(cmd.OutOrStdout(), "finished an interrupted master-key rotation")
			}
			fmt.Fprintf(cmd.OutOrStdout(), "master key rotated: %s → %s; the old key is destroyed\n", orUnknown(info.Old), info.New)
			return nil
		},
	}
	off.addFlags(cmd)
	addRemoteFlags(cmd, &r, "cert")
	f := cmd.Flags()
	f.StringVar(&to.Seal, "seal", "", "kind of the new master key: file, passphrase or pkcs11")
	f.StringVar(&to.PassphraseFile, "new-passphrase-file", "", "passphrase of the new key, for --seal passphrase")
	f.StringVar(&to.PKCS11.Module, "pkcs11-module", "", "PKCS#11 library of the HSM, for --seal pkcs11")
	f.StringVar(&to.PKCS11.TokenLabel, "token-label", "", "label of the HSM token for the new key, for --seal pkcs11")
	f.StringVar(&to.PKCS11.KeyLabel, "key-label", "", "label of the new key in the token (default keywarden-master-<random>)")
	f.StringVar(&to.PINFile, "new-pin-file", "", "user PIN of the new key's token (default --pin-file, then $KEYWARDEN_PKCS11_PIN)")
	return cmd
}

// closeMasterKeyOf closes a master key that holds HSM sessions.
func closeMasterKeyOf(mk barrier.MasterKey) {
	if c, ok := mk.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(already replaced)"
	}
	return s
}
