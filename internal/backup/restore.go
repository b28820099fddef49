package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/store"
)

// ErrTargetNotEmpty is returned by Restore for a target directory that
// holds anything.
var ErrTargetNotEmpty = errors.New("backup: the target data directory is not empty")

// RestoreOptions configures Restore.
type RestoreOptions struct {
	// MasterKey says how to create the restored server's new master key:
	// the zero value makes a file key (as init does without a passphrase);
	// PassphraseFile seals it under a passphrase; Seal pkcs11 makes it in
	// an HSM.
	MasterKey barrier.MasterKeyOptions
	// Logger receives progress; nil discards.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Restore restores the backup in file into dataDir, which must be absent or
// an empty directory. It first verifies the whole file (every chunk, every
// archive entry) and writes nothing if that fails; then it writes the
// server into a temporary directory beside dataDir, creates a new master
// key there (opts.MasterKey), wraps the keyring and seals the CA and
// server keys under it, checks that the restored store opens, and only
// then renames the directory to dataDir.
func Restore(ctx context.Context, file, dataDir string, passphrase []byte, opts RestoreOptions) (*Manifest, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if dataDir == "" {
		return nil, errors.New("backup: restore: no data directory given")
	}
	if err := checkTarget(dataDir); err != nil {
		return nil, err
	}
	// Pass 1: verify everything, write nothing.
	m, err := verifyFile(file, passphrase)
	if err != nil {
		return nil, err
	}
	logger.Info("backup verified", "file", file, "created", m.Created, "node", m.Node)

	// Pass 2: write into a temporary directory beside the target.
	parent := filepath.Dir(filepath.Clean(dataDir))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("backup: restore: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dataDir)+".restore-*")
	if err != nil {
		return nil, fmt.Errorf("backup: restore: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = os.RemoveAll(tmp)
		}
	}()
	if err := writeFiles(ctx, file, passphrase, tmp, opts.MasterKey, now()); err != nil {
		return nil, err
	}
	if err := checkTarget(dataDir); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dataDir); err != nil {
		// An empty directory in the way: replace it.
		if rmErr := os.Remove(dataDir); rmErr != nil || os.Rename(tmp, dataDir) != nil {
			return nil, fmt.Errorf("backup: restore: move into %s: %w", dataDir, err)
		}
	}
	done = true
	if err := syncDir(parent); err != nil {
		return nil, fmt.Errorf("backup: restore: %w", err)
	}
	logger.Info("backup restored", "dir", dataDir)
	return m, nil
}

// checkTarget refuses a target that exists and is not an empty directory.
func checkTarget(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("backup: restore: %w", err)
	case len(ents) > 0:
		return fmt.Errorf("%w: %s holds %d entries; restore into a new directory", ErrTargetNotEmpty, dir, len(ents))
	}
	return nil
}

// verifyFile runs Verify over a file.
func verifyFile(file string, passphrase []byte) (*Manifest, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	return Verify(f, passphrase)
}

// restored holds what pass 2 keeps in memory: the plaintext secrets.
type restored struct {
	ring []byte
	keys map[string][]byte // archive name → PKCS#8 DER
}

func (r *restored) wipe() {
	clear(r.ring)
	for _, k := range r.keys {
		clear(k)
	}
}

// writeFiles decrypts the backup again into dir, then re-keys it under a
// new master key.
func writeFiles(ctx context.Context, file string, passphrase []byte, dir string, mko barrier.MasterKeyOptions, now time.Time) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	rs := &restored{keys: map[string][]byte{}}
	defer rs.wipe()
	m, err := readArchive(f, passphrase, func(e entry) error {
		switch {
		case e.name == entryKeyring:
			rs.ring, err = io.ReadAll(e.body)
			return err
		case strings.HasSuffix(e.name, plainKeySuffix):
			k, err := io.ReadAll(e.body)
			rs.keys[e.name] = k
			return err
		}
		mode := fs.FileMode(0o600)
		for _, p := range pkiPlainFiles {
			if e.name == pkiPrefix+p.name {
				mode = p.mode
			}
		}
		return writeFile(filepath.Join(dir, filepath.FromSlash(e.name)), io.LimitReader(e.body, e.size), mode)
	})
	if err != nil {
		// The file changed between the passes, or a disk error.
		return err
	}
	return rekey(ctx, dir, rs, mko, m, now)
}

// rekey creates the new master key in dir and puts every secret under it:
// the CA and server keys sealed in DIR/pki, the keyring wrapped in the
// store (with a fresh active generation: see barrier.RewrapKeyring).
func rekey(ctx context.Context, dir string, rs *restored, mko barrier.MasterKeyOptions, m *Manifest, now time.Time) (err error) {
	if rs.ring == nil {
		return fmt.Errorf("%w: no keyring", ErrDamaged)
	}
	mk, err := barrier.CreateMasterKeyWith(dir, mko)
	if err != nil {
		return fmt.Errorf("backup: restore: new master key: %w", err)
	}
	if c, ok := mk.(io.Closer); ok {
		defer func() { err = errors.Join(err, c.Close()) }()
	}
	for _, f := range pki.SealedFiles(dir) {
		der := rs.keys[pkiPrefix+plainName(f.Name)]
		if der == nil {
			return fmt.Errorf("%w: %s is missing", ErrDamaged, f.Name)
		}
		if err := barrier.SealFile(mk, f.Path, f.Purpose, der); err != nil {
			return fmt.Errorf("backup: restore: %w", err)
		}
	}
	st, err := store.OpenBolt(filepath.Join(dir, entryStore), store.BoltOptions{})
	if err != nil {
		return fmt.Errorf("backup: restore: %w", err)
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	var old []byte
	err = st.View(func(r store.Reader) error {
		v, err := r.Get(store.SysBucket, []byte(barrier.KeyringKey))
		old = bytes.Clone(v)
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: the store has no keyring: %w", ErrDamaged, err)
	}
	wrapped, err := barrier.RewrapKeyring(mk, rs.ring, now)
	if err != nil {
		return fmt.Errorf("backup: restore: %w", err)
	}
	var cmd store.Command
	cmd.RequireEqual(store.SysBucket, []byte(barrier.KeyringKey), old)
	cmd.Put(store.SysBucket, []byte(barrier.KeyringKey), wrapped)
	if err := st.Apply(ctx, cmd); err != nil {
		return fmt.Errorf("backup: restore: store the keyring: %w", err)
	}
	// The restored server must open: load the keyring as serve will.
	b, err := barrier.New(ctx, st, mk, barrier.Options{})
	if err != nil {
		return fmt.Errorf("backup: restore: check the restored keyring: %w", err)
	}
	// Everything in the restored store is in this backup.
	ledger, err := OpenLedger(st, b)
	if err == nil {
		err = ledger.Record(ctx, LastBackup{Snapshot: m.Created, Node: m.Node})
	}
	if err != nil {
		return fmt.Errorf("backup: restore: %w", err)
	}
	for _, d := range []string{dir, filepath.Join(dir, "pki"), filepath.Join(dir, "audit")} {
		if err := syncDir(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("backup: restore: %w", err)
		}
	}
	return nil
}

// writeFile creates path (and its directory, 0700) with the content of r.
func writeFile(path string, r io.Reader, mode fs.FileMode) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("backup: restore: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("backup: restore: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("backup: restore: %w", cerr)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("backup: restore: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		return fmt.Errorf("backup: restore %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: restore: %w", err)
	}
	return nil
}

// syncDir fsyncs a directory.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
