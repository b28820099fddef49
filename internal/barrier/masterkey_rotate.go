package barrier

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

	"github.com/keywarden/keywarden/internal/store"
)

// MasterKeyRotationDir is the directory, inside the data directory, where
// a master-key rotation keeps the new key until it takes the old one's
// place, and the old key's file until it is destroyed. While it exists,
// OpenMasterKeyWith refuses to open the data directory: the rotation must
// be finished first (RotateMasterKey resumes it).
const MasterKeyRotationDir = "master-key-rotation"

// oldKeyFile is the old master key file kept (hard-linked) in the
// rotation directory until it is destroyed.
const oldKeyFile = MasterKeyFile + ".old"

// ErrMasterKeyRotationPending: a master-key rotation was interrupted and
// must be finished before the data directory can be opened.
var ErrMasterKeyRotationPending = errors.New("barrier: a master-key rotation is unfinished")

// SealedFileRef names a file sealed under the master key (SealFile) that a
// master-key rotation seals again under the new key.
type SealedFileRef struct {
	Path, Purpose string
}

// MasterKeyRotation describes RotateMasterKey's work.
type MasterKeyRotation struct {
	// Old and New are the kinds of master key before and after.
	Old, New string
	// Resumed: an interrupted rotation was finished.
	Resumed bool
}

// RotateMasterKey replaces the master key of dataDir by a new one created
// from to (any kind: file, passphrase, pkcs11), offline: the caller has
// the store s open (so no server runs on it). It re-wraps the keyring in s
// and re-seals files under the new key, puts the new key in place of the
// old and destroys the old one (a file key's file is overwritten; a
// PKCS#11 key is deleted from its token). The records in the store are not
// touched: they stay sealed under the keyring's generations (keyring
// rotation is another operation).
//
// Every step can be interrupted: the new key waits in
// DIR/master-key-rotation until it takes the old key's place, and calling
// RotateMasterKey again (with the same options) finishes the work. old
// opens the current key (its PassphraseFile and PINFile); to creates the
// new one (its PINFile and PassphraseFile belong to the new key). It
// returns the new master key, open; the caller closes it when it is an
// io.Closer.
func RotateMasterKey(ctx context.Context, dataDir string, s store.Store, files []SealedFileRef, old, to MasterKeyOptions, logger *slog.Logger) (MasterKey, MasterKeyRotation, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var info MasterKeyRotation
	stage := filepath.Join(dataDir, MasterKeyRotationDir)
	if fi, err := os.Stat(filepath.Join(stage, oldKeyFile)); err == nil && fi.Mode().IsRegular() && !MasterKeyExists(stage) {
		// Interrupted after the new key took its place: only the old key
		// remains to be destroyed.
		mk, err := openMasterKey(dataDir, to, true)
		if err != nil {
			return nil, info, err
		}
		info.New, info.Resumed = mk.Kind(), true
		if err := destroyOldKey(stage, old, logger); err != nil {
			closeMasterKey(mk)
			return nil, info, err
		}
		return mk, info, nil
	}
	oldKey, err := openMasterKey(dataDir, old, true)
	if err != nil {
		return nil, info, err
	}
	defer closeMasterKey(oldKey)
	info.Old = oldKey.Kind()
	if err := os.MkdirAll(stage, 0o700); err != nil {
		return nil, info, fmt.Errorf("barrier: master-key rotation: %w", err)
	}
	var next MasterKey
	if MasterKeyExists(stage) {
		next, err = openMasterKey(stage, to, true)
		info.Resumed = true
	} else {
		next, err = CreateMasterKeyWith(stage, to)
	}
	if err != nil {
		return nil, info, fmt.Errorf("barrier: master-key rotation: new master key: %w", err)
	}
	info.New = next.Kind()
	fail := func(err error) (MasterKey, MasterKeyRotation, error) {
		closeMasterKey(next)
		return nil, info, err
	}
	if err := rewrapStoredKeyring(ctx, s, oldKey, next); err != nil {
		return fail(err)
	}
	for _, f := range files {
		if err := resealFile(f, oldKey, next); err != nil {
			return fail(err)
		}
	}
	// The commit point: the new key takes the old one's place, the old
	// one's file stays linked in the rotation directory until destroyed.
	cur, staged := filepath.Join(dataDir, MasterKeyFile), filepath.Join(stage, MasterKeyFile)
	if err := os.Link(cur, filepath.Join(stage, oldKeyFile)); err != nil && !errors.Is(err, fs.ErrExist) {
		return fail(fmt.Errorf("barrier: master-key rotation: keep the old key: %w", err))
	}
	if err := os.Rename(staged, cur); err != nil {
		return fail(fmt.Errorf("barrier: master-key rotation: put the new key in place: %w", err))
	}
	if err := syncDir(dataDir); err != nil {
		return fail(fmt.Errorf("barrier: master-key rotation: %w", err))
	}
	logger.Info("barrier: new master key in place", "old", info.Old, "new", info.New)
	if d, ok := oldKey.(keyDestroyer); ok {
		if err := d.destroyKey(); err != nil {
			return fail(fmt.Errorf("barrier: master-key rotation: destroy the old key in its token: %w", err))
		}
	}
	if err := destroyOldKey(stage, MasterKeyOptions{}, logger); err != nil {
		return fail(err)
	}
	return next, info, nil
}

// keyDestroyer is a master key that can delete itself from its token.
type keyDestroyer interface {
	destroyKey() error
}

// destroyOldKey destroys the old key kept in the rotation directory and
// removes the directory. With a PKCS#11 descriptor and opts, the key is
// deleted from its token first (when it is still there).
func destroyOldKey(stage string, opts MasterKeyOptions, logger *slog.Logger) error {
	path := filepath.Join(stage, oldKeyFile)
	content, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("barrier: master-key rotation: %w", err)
	}
	if err == nil && isDescriptor(content) && opts != (MasterKeyOptions{}) {
		d, err := parseDescriptor(path, content)
		if err != nil {
			return err
		}
		pin, err := readPIN(opts, d.PKCS11Config)
		if err != nil {
			return err
		}
		mk, err := openPKCS11MasterKey(d, pin)
		wipe(pin)
		if err == nil {
			if dk, ok := mk.(keyDestroyer); ok {
				err = dk.destroyKey()
			}
			closeMasterKey(mk)
		}
		if err != nil && !errors.Is(err, ErrMasterKeyNotFound) {
			return fmt.Errorf("barrier: master-key rotation: destroy the old key: %w", err)
		}
	}
	if err == nil {
		if err := overwrite(path); err != nil {
			return fmt.Errorf("barrier: master-key rotation: overwrite the old key file: %w", err)
		}
	}
	if err := os.RemoveAll(stage); err != nil {
		return fmt.Errorf("barrier: master-key rotation: %w", err)
	}
	if err := syncDir(filepath.Dir(stage)); err != nil {
		return fmt.Errorf("barrier: master-key rotation: %w", err)
	}
	logger.Info("barrier: old master key destroyed")
	return nil
}

// rewrapStoredKeyring wraps the stored keyring under next, unless it
// already is (an interrupted rotation).
func rewrapStoredKeyring(ctx context.Context, s store.Store, old, next MasterKey) error {
	var wrapped []byte
	err := s.View(func(r store.Reader) error {
		v, err := r.Get(store.SysBucket, []byte(KeyringKey))
		wrapped = bytes.Clone(v)
		return err
	})
	if err != nil {
		return fmt.Errorf("barrier: master-key rotation: read keyring: %w", err)
	}
	if plain, err := next.Unwrap(wrapped, []byte(keyringAAD)); err == nil {
		wipe(plain)
		return nil // done before an interruption
	}
	plain, err := UnwrapKeyring(old, wrapped)
	if err != nil {
		return fmt.Errorf("barrier: master-key rotation: %w", err)
	}
	defer wipe(plain)
	rewrapped, err := next.Wrap(plain, []byte(keyringAAD))
	if err != nil {
		return fmt.Errorf("barrier: master-key rotation: wrap keyring: %w", err)
	}
	var cmd store.Command
	cmd.RequireEqual(store.SysBucket, []byte(KeyringKey), wrapped)
	cmd.Put(store.SysBucket, []byte(KeyringKey), rewrapped)
	if err := s.Apply(ctx, cmd); err != nil {
		return fmt.Errorf("barrier: master-key rotation: store keyring: %w", err)
	}
	return nil
}

// resealFile seals f under next, unless it already is.
func resealFile(f SealedFileRef, old, next MasterKey) error {
	if plain, err := OpenFile(next, f.Path, f.Purpose); err == nil {
		wipe(plain)
		return nil
	}
	plain, err := OpenFile(old, f.Path, f.Purpose)
	if err != nil {
		return fmt.Errorf("barrier: master-key rotation: %w", err)
	}
	defer wipe(plain)
	return SealFile(next, f.Path, f.Purpose, plain)
}

// overwrite fills the file at path with zeros and syncs it (a best effort
// against the old key lingering on the disk).
func overwrite(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		_, err = f.Write(make([]byte, fi.Size()))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// closeMasterKey closes mk when it holds sessions.
func closeMasterKey(mk MasterKey) {
	if c, ok := mk.(io.Closer); ok {
		_ = c.Close()
	}
}
