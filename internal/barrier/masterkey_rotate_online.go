package barrier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/keywarden/keywarden/internal/store"
)

// RotateMasterKeyOnline replaces the master key of a running server: the
// steps of RotateMasterKey, with the keyring re-wrapped under the
// barrier's lock and h (the holder every user of the master key shares,
// which must be the barrier's master key) switched to the new key in the
// same critical section. Sealed files are re-sealed next; until the end,
// h opens values under either key. If it fails after the keyring was
// re-wrapped, DIR/master-key-rotation stays behind and the server refuses
// its next start until the offline command (RotateMasterKey, with the
// same options) finishes the rotation.
func (b *Barrier) RotateMasterKeyOnline(ctx context.Context, dataDir string, h *MasterKeyHolder, files []SealedFileRef, to MasterKeyOptions, logger *slog.Logger) (MasterKeyRotation, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if b.mk != MasterKey(h) {
		return MasterKeyRotation{}, errors.New("barrier: master-key rotation: the barrier does not use this master key holder")
	}
	old := h.Current()
	info := MasterKeyRotation{Old: old.Kind()}
	stage := filepath.Join(dataDir, MasterKeyRotationDir)
	if _, err := os.Stat(stage); err == nil {
		return info, &detailedError{
			msg: fmt.Sprintf("barrier: %s exists: an earlier master-key rotation is unfinished; stop the server and finish it with keywarden masterkey rotate --data-dir %s", stage, dataDir),
			err: ErrMasterKeyRotationPending,
		}
	}
	if err := os.MkdirAll(stage, 0o700); err != nil {
		return info, fmt.Errorf("barrier: master-key rotation: %w", err)
	}
	next, err := CreateMasterKeyWith(stage, to)
	if err != nil {
		_ = os.RemoveAll(stage)
		return info, fmt.Errorf("barrier: master-key rotation: new master key: %w", err)
	}
	info.New = next.Kind()
	if err := b.rewrapKeyringLocked(ctx, h, next); err != nil {
		closeMasterKey(next)
		_ = os.RemoveAll(stage)
		return info, err
	}
	logger.Info("barrier: keyring re-wrapped under the new master key", "new", info.New)
	// From here on the keyring needs the new key: a failure leaves the
	// rotation directory for the offline command to finish.
	defer h.endRotation()
	for _, f := range files {
		if err := resealFile(f, old, next); err != nil {
			return info, err
		}
	}
	cur, staged := filepath.Join(dataDir, MasterKeyFile), filepath.Join(stage, MasterKeyFile)
	if err := os.Link(cur, filepath.Join(stage, oldKeyFile)); err != nil && !errors.Is(err, os.ErrExist) {
		return info, fmt.Errorf("barrier: master-key rotation: keep the old key: %w", err)
	}
	if err := os.Rename(staged, cur); err != nil {
		return info, fmt.Errorf("barrier: master-key rotation: put the new key in place: %w", err)
	}
	if err := syncDir(dataDir); err != nil {
		return info, fmt.Errorf("barrier: master-key rotation: %w", err)
	}
	if d, ok := old.(keyDestroyer); ok {
		if err := d.destroyKey(); err != nil {
			return info, fmt.Errorf("barrier: master-key rotation: destroy the old key in its token: %w", err)
		}
	}
	if err := destroyOldKey(stage, MasterKeyOptions{}, logger); err != nil {
		return info, err
	}
	return info, nil
}

// rewrapKeyringLocked stores the keyring wrapped under next and switches h
// to it, under the barrier's lock, so that no reservation wraps the
// keyring under the old key in between.
func (b *Barrier) rewrapKeyringLocked(ctx context.Context, h *MasterKeyHolder, next MasterKey) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range maxReserveAttempts {
		cur := b.ring.Load()
		plain := cur.encode()
		wrapped, err := next.Wrap(plain, []byte(keyringAAD))
		wipe(plain)
		if err != nil {
			return fmt.Errorf("barrier: master-key rotation: wrap keyring: %w", err)
		}
		var cmd store.Command
		cmd.RequireEqual(store.SysBucket, []byte(KeyringKey), cur.wrapped)
		cmd.Put(store.SysBucket, []byte(KeyringKey), wrapped)
		err = b.applyKeyring(ctx, cmd)
		if errors.Is(err, errKeyringChanged) {
			continue // start again from the stored keyring
		}
		if err != nil {
			return fmt.Errorf("barrier: master-key rotation: store keyring: %w", err)
		}
		n := *cur
		n.wrapped = wrapped
		b.ring.Store(&n)
		h.swap(next)
		return nil
	}
	return fmt.Errorf("barrier: master-key rotation: keyring changed under %d attempts in a row", maxReserveAttempts)
}
