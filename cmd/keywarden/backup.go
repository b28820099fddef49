package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/keywarden/keywarden/internal/backup"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/store"
)

// backupResult is what backup and restore report.
type backupResult struct {
	File     string           `json:"file"`
	Bytes    int64            `json:"bytes,omitempty"`
	DataDir  string           `json:"data_dir,omitempty"`
	Manifest *backup.Manifest `json:"manifest"`
}

func newBackupCommand() *cobra.Command {
	var (
		r                   remote
		out, pfile          string
		dataDir, masterPass string
		pinFile             string
	)
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Write an encrypted, verified backup of a server: store, keyring, PKI and audit trail",
		Long: `Write a backup of everything a server holds — keys, key labels, key groups, devices,
groups, usage records, the audit trail and its anchor, the CA, server and administrator
certificates — as one file encrypted and authenticated under the passphrase in
--passphrase-file (Argon2id, then AES-256-GCM in chunks; see docs/backup.md).

Against a running server (the default) the backup is taken online through the admin API
(KEYWARDEN_ADDR and the client certificate settings, admin role): the store is copied in
one consistent snapshot while the server goes on serving. With --data-dir the backup is
taken offline from the data directory of a stopped server (--master-passphrase-file opens a
passphrase-sealed master key).

The file is written beside --out, read back and verified completely (every chunk
authenticated) before it is renamed to --out; an existing --out is not overwritten.
The backup holds the keyring and the server's private keys, protected only by the
passphrase: keep the passphrase apart from the file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" || pfile == "" {
				return errors.New("backup: --out and --passphrase-file are required")
			}
			if err := checkOutput(r.output); err != nil {
				return err
			}
			passphrase, err := readBackupPassphrase(pfile)
			if err != nil {
				return err
			}
			defer clear(passphrase)
			write := func(ctx context.Context, w io.Writer) (int64, error) {
				c, err := r.client()
				if err != nil {
					return 0, err
				}
				defer c.Close()
				return c.Backup(ctx, passphrase, w)
			}
			if cmd.Flags().Changed("data-dir") {
				write = func(ctx context.Context, w io.Writer) (int64, error) {
					return backupOffline(ctx, dataDir, masterPass, pinFile, passphrase, w)
				}
			}
			res, err := writeVerifiedBackup(cmd.Context(), out, passphrase, write)
			if err != nil {
				return err
			}
			return r.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "backup written to %s (%d bytes, snapshot %s, verified)\n",
					res.File, res.Bytes, res.Manifest.Created.Format(time.RFC3339))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "backup file to create (mode 0600; an existing file is not overwritten)")
	f.StringVar(&pfile, "passphrase-file", "", "file whose first line is the backup passphrase (at least 8 bytes)")
	f.StringVar(&dataDir, "data-dir", defaultDataDir(), "back up a stopped server's data directory instead of a running server")
	f.StringVar(&masterPass, "master-passphrase-file", "", "with --data-dir: file holding the passphrase of the server's master key")
	addPINFlag(cmd, &pinFile)
	addRemoteFlags(cmd, &r, "cert")
	return cmd
}

// readBackupPassphrase reads the first line of a backup passphrase file.
func readBackupPassphrase(path string) ([]byte, error) {
	p, err := readPassphraseFile(path)
	if err != nil {
		return nil, err
	}
	if len(p) < 8 {
		return nil, fmt.Errorf("--passphrase-file %s: a backup passphrase needs at least 8 bytes", path)
	}
	return []byte(p), nil
}

// writeVerifiedBackup writes a backup with write into a temporary file
// beside out, verifies it with passphrase and renames it to out.
func writeVerifiedBackup(ctx context.Context, out string, passphrase []byte, write func(context.Context, io.Writer) (int64, error)) (*backupResult, error) {
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("backup: %s already exists", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	keep := false
	defer func() {
		_ = tmp.Close()
		if !keep {
			_ = os.Remove(tmp.Name())
		}
	}()
	n, err := write(ctx, tmp)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	m, err := backup.Verify(tmp, passphrase)
	if err != nil {
		return nil, fmt.Errorf("backup: the file received does not verify (nothing written to %s): %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("backup: %s already exists", out)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	keep = true
	return &backupResult{File: out, Bytes: n, Manifest: m}, nil
}

// backupOffline backs up the data directory of a stopped server.
func backupOffline(ctx context.Context, dataDir, masterPass, pinFile string, passphrase []byte, w io.Writer) (int64, error) {
	initialised, err := server.Initialized(dataDir)
	if err != nil {
		return 0, err
	}
	if !initialised {
		return 0, fmt.Errorf("%s is not an initialised data directory", dataDir)
	}
	mk, err := barrier.OpenMasterKeyWith(dataDir, barrier.MasterKeyOptions{PassphraseFile: masterPass, PINFile: pinFile})
	if err != nil {
		return 0, err
	}
	if c, ok := mk.(io.Closer); ok {
		defer c.Close()
	}
	st, err := store.OpenBolt(filepath.Join(dataDir, server.StoreFile), store.BoltOptions{})
	if errors.Is(err, store.ErrInUse) {
		return 0, fmt.Errorf("%w: the server is running; back it up online through the admin API (without --data-dir)", err)
	}
	if err != nil {
		return 0, err
	}
	defer st.Close()
	cw := &countWriter{w: w}
	_, err = backup.Write(ctx, cw, backup.Source{
		DataDir: dataDir, Store: st, MasterKey: mk, AuditDir: filepath.Join(dataDir, server.AuditDir),
	}, passphrase, backup.Options{})
	return cw.n, err
}

// countWriter counts what it passes on.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
