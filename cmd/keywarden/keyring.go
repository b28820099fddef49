package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/store"
)

// rotatePauseEnv is a test hook: a number N makes an offline keyring
// rotation stop after re-sealing N records, print a line to stderr and
// wait (until killed or interrupted), so that a test can kill it halfway.
const rotatePauseEnv = "KEYWARDEN_TEST_ROTATE_PAUSE_AFTER"

func newKeyringCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keyring",
		Short: "Show and rotate the keyring that seals every stored record",
		Args:  cobra.NoArgs,
		RunE:  missingSubcommand,
	}
	cmd.AddCommand(newKeyringStatusCommand(), newKeyringRotateCommand(), newKeyringCompactCommand())
	return cmd
}

// offline holds the flags that open a stopped server's data directory.
type offline struct {
	dataDir, passphraseFile, pinFile string
}

func (o *offline) addFlags(cmd *cobra.Command) {
	addDataDirFlags(cmd, &o.dataDir, &o.passphraseFile)
	addPINFlag(cmd, &o.pinFile)
}

// open opens the master key, the store and the barrier of a stopped server.
func (o *offline) open(ctx context.Context) (*barrier.Barrier, *store.Bolt, func(), error) {
	mk, err := barrier.OpenMasterKeyWith(o.dataDir, barrier.MasterKeyOptions{PassphraseFile: o.passphraseFile, PINFile: o.pinFile})
	if err != nil {
		return nil, nil, nil, err
	}
	closeMK := func() {
		if c, ok := mk.(io.Closer); ok {
			_ = c.Close()
		}
	}
	st, err := store.OpenBolt(filepath.Join(o.dataDir, server.StoreFile), store.BoltOptions{})
	if err != nil {
		closeMK()
		if errors.Is(err, store.ErrInUse) {
			return nil, nil, nil, fmt.Errorf("%w: stop the server, or leave out --data-dir to work through its admin API", err)
		}
		return nil, nil, nil, err
	}
	b, err := barrier.New(ctx, st, mk, barrier.Options{})
	if err != nil {
		_ = st.Close()
		closeMK()
		return nil, nil, nil, err
	}
	return b, st, func() { _ = st.Close(); closeMK() }, nil
}

func newKeyringStatusCommand() *cobra.Command {
	var (
		r   remote
		off offline
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the keyring's generations and the progress of a keyring rotation",
		Long: `Show the keyring's generations (never their keys) and the progress of a keyring rotation.
Against a running server by default (admin API); with --data-dir from a stopped server's
data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var k *client.Keyring
			if cmd.Flags().Changed("data-dir") {
				if err := checkOutput(r.output); err != nil {
					return err
				}
				b, st, done, err := off.open(cmd.Context())
				if err != nil {
					return err
				}
				defer done()
				k, err = offlineKeyring(b, st.Path())
				if err != nil {
					return err
				}
			} else {
				err := r.with(func(c *client.Client) error {
					var err error
					k, err = c.Keyring(cmd.Context())
					return err
				})
				if err != nil {
					return err
				}
			}
			return r.print(cmd.OutOrStdout(), k, func(w *tabwriter.Writer) { keyringTable(w, k) })
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	off.addFlags(cmd)
	return cmd
}

func newKeyringRotateCommand() *cobra.Command {
	var (
		r                 remote
		off               offline
		wait              bool
		noComp            bool
		destroyUnreadable bool
	)
	cmd := &cobra.Command{
		Use:   "rotate",
		Short: "Re-seal every stored record under a new keyring generation, then destroy the old ones",
		Long: `Rotate the keyring: a new generation becomes active, every stored record is re-sealed
under it in batches (the progress is saved in the store with each batch, so an interrupted
rotation — even kill -9 — resumes where it stopped), and the old generations are then
removed from the keyring: values sealed under them, such as destroyed objects' records left
on the store file's free pages or in older backups, can no longer be opened.

Against a running server by default: POST /v1/keyring/rotate starts it in the background
(--wait follows it to the end); the server compacts its store file at its next start.
With --data-dir on a stopped server's data directory: the rotation runs here (resuming an
interrupted one), with a progress bar on a terminal, and the store file is then compacted
into a new file that replaces it, so no free page keeps an old record or an old keyring copy.

The master key is not changed: see keywarden masterkey rotate. See docs/hsm.md for what
this means for older backups.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("data-dir") {
				return rotateOffline(cmd, off, !noComp, destroyUnreadable)
			}
			return r.with(func(c *client.Client) error {
				k, err := c.RotateKeyring(cmd.Context())
				if err != nil {
					return err
				}
				if wait {
					if k, err = waitRotation(cmd.Context(), c, cmd.ErrOrStderr()); err != nil {
						return err
					}
				}
				return r.print(cmd.OutOrStdout(), k, func(w *tabwriter.Writer) { keyringTable(w, k) })
			})
		},
	}
	addRemoteFlags(cmd, &r, "cert")
	off.addFlags(cmd)
	cmd.Flags().BoolVar(&wait, "wait", false, "against a running server: follow the rotation until it completes")
	cmd.Flags().BoolVar(&destroyUnreadable, "destroy-unreadable", false, "with --data-dir: destroy the old generations even if some records under them do not open (corrupted)")
	cmd.Flags().BoolVar(&noComp, "no-compact", false, "with --data-dir: leave the store file uncompacted (destroyed records stay on its free pages until keywarden keyring compact)")
	return cmd
}

func newKeyringCompactCommand() *cobra.Command {
	var off offline
	cmd := &cobra.Command{
		Use:   "compact",
		Short: "Rewrite a stopped server's store file without its free pages",
		Long: `Rewrite the store file of a stopped server into a new file holding only the live records
and replace it atomically; the old file is overwritten with zeros before it is removed.
After a keyring rotation this removes the destroyed records and the old keyring copies
that bbolt keeps on its free pages. A running server does this itself at its next start
after an online rotation.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := filepath.Join(off.dataDir, server.StoreFile)
			if err := store.Compact(path, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "compacted %s\n", path)
			return nil
		},
	}
	off.addFlags(cmd)
	return cmd
}

// rotateOffline runs (or resumes) a keyring rotation on a stopped server's
// data directory, then compacts its store file.
func rotateOffline(cmd *cobra.Command, off offline, compact, destroyUnreadable bool) error {
	ctx := cmd.Context()
	b, st, done, err := off.open(ctx)
	if err != nil {
		return err
	}
	path := st.Path()
	closed := false
	defer func() {
		if !closed {
			done()
		}
	}()
	status, err := b.StartKeyringRotation(ctx)
	switch {
	case errors.Is(err, barrier.ErrRotationRunning):
		fmt.Fprintf(cmd.ErrOrStderr(), "resuming the keyring rotation to generation %d (%d of %d records re-sealed)\n",
			status.Target, status.Resealed, status.Total)
	case err != nil:
		return err
	default:
		fmt.Fprintf(cmd.ErrOrStderr(), "rotating the keyring to generation %d: %d records to re-seal\n", status.Target, status.Total)
	}
	opts := barrier.RotateOptions{DestroyUnreadable: destroyUnreadable}
	if v := os.Getenv(rotatePauseEnv); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%s=%q: not a number", rotatePauseEnv, v)
		}
		opts.PauseAfter = n
		opts.OnPause = func(s barrier.RotationStatus) {
			fmt.Fprintf(cmd.ErrOrStderr(), "rotation paused after %d records (%s)\n", s.Resealed, rotatePauseEnv)
		}
	}
	opts.Progress = progressReporter(cmd.ErrOrStderr(), status)
	final, err := b.RunKeyringRotation(ctx, opts)
	if err != nil {
		return err
	}
	done()
	closed = true
	fmt.Fprintf(cmd.OutOrStdout(), "keyring rotated: generation %d active; generations %v destroyed; %d records re-sealed\n",
		final.Target, final.Retire, final.Resealed)
	if final.Unreadable > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "warning: %d records under the old generations did not open (corrupted) and are now unreadable for good\n", final.Unreadable)
	}
	if !compact {
		fmt.Fprintf(cmd.OutOrStdout(), "store file not compacted: run keywarden keyring compact --data-dir %s\n", off.dataDir)
		return nil
	}
	if err := store.Compact(path, nil); err != nil {
		return fmt.Errorf("keyring rotated, but: %w (run keywarden keyring compact)", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "store file compacted: %s\n", path)
	return nil
}

// progressReporter shows the rotation's progress: a bar on a terminal,
// else nothing (the final line reports the outcome).
func progressReporter(w io.Writer, start barrier.RotationStatus) func(barrier.RotationStatus) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	bar := progressbar.NewOptions64(int64(max(start.Total, 1)),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("re-sealing"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	return func(s barrier.RotationStatus) {
		if s.Resealed > s.Total {
			bar.ChangeMax64(int64(s.Resealed))
		}
		_ = bar.Set64(int64(s.Resealed))
	}
}

// waitRotation polls the server until its rotation completes.
func waitRotation(ctx context.Context, c *client.Client, w io.Writer) (*client.Keyring, error) {
	last := uint64(0)
	for {
		k, err := c.Keyring(ctx)
		if err != nil {
			return nil, err
		}
		r := k.Rotation
		if !r.InProgress {
			return k, nil
		}
		if !r.Running && r.Error != "" {
			return k, fmt.Errorf("keyring rotation stopped: %s", r.Error)
		}
		if r.Resealed != last {
			fmt.Fprintf(w, "re-sealed %d of %d records (%s)\n", r.Resealed, r.Total, r.Phase)
			last = r.Resealed
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// offlineKeyring builds the status of a stopped server.
func offlineKeyring(b *barrier.Barrier, storePath string) (*client.Keyring, error) {
	rot, err := b.KeyringRotation()
	if err != nil {
		return nil, err
	}
	k := &client.Keyring{MasterKey: b.MasterKeyKind(), CompactionPending: store.CompactPending(storePath),
		Rotation: client.KeyringRotation{
			InProgress: rot.InProgress, Phase: rot.Phase, Started: rot.Started, Finished: rot.Finished,
			Target: rot.Target, Retire: rot.Retire, Bucket: rot.Bucket, Resealed: rot.Resealed, Total: rot.Total,
			Unreadable: rot.Unreadable,
		}}
	for _, g := range b.Generations() {
		k.Generations = append(k.Generations, client.KeyringGeneration{ID: g.ID, Created: g.Created, Reserved: g.Reserved, Active: g.Active})
	}
	return k, nil
}

// keyringTable prints a keyring.
func keyringTable(w *tabwriter.Writer, k *client.Keyring) {
	row(w, "master key", k.MasterKey)
	for _, g := range k.Generations {
		active := ""
		if g.Active {
			active = " (active)"
		}
		row(w, "generation", fmt.Sprintf("%d%s, created %s, %d seals reserved", g.ID, active, g.Created.Format(time.RFC3339), g.Reserved))
	}
	r := k.Rotation
	switch {
	case r.InProgress:
		state := "interrupted (resumes at the next start or rotate)"
		if r.Running {
			state = "running"
		}
		row(w, "rotation", fmt.Sprintf("%s, %s phase: %d of %d records re-sealed, to generation %d, retiring %v",
			state, r.Phase, r.Resealed, r.Total, r.Target, r.Retire))
	case !r.Finished.IsZero():
		row(w, "last rotation", fmt.Sprintf("%s: generations %v destroyed, %d records re-sealed", r.Finished.Format(time.RFC3339), r.Retire, r.Resealed))
	default:
		row(w, "last rotation", "never")
	}
	if r.Error != "" {
		row(w, "rotation error", r.Error)
	}
	if k.CompactionPending {
		row(w, "store file", "compaction pending (at the next start)")
	}
}
