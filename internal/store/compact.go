package store

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// compactTxSize bounds one copy transaction of Compact.
const compactTxSize = 64 << 20

// CompactPendingSuffix names the marker file (next to the store file) that
// asks for a compaction at the next start: a keyring rotation completed
// while the store was open, and the file still holds the destroyed
// generation's records and old keyring copies on its free pages.
const CompactPendingSuffix = ".compact-pending"

// Compact rewrites the bbolt file at path into a new file holding only the
// live records, then atomically replaces path with it. bbolt keeps the
// pages of deleted and overwritten values on its free list; after Compact
// none of them remains in the file. The old file's content is overwritten
// with zeros before it is removed (a best effort: a copy-on-write file
// system or an SSD may keep the old blocks). The store must be closed: a
// file that another process holds open returns an error wrapping ErrInUse.
// A pending-compaction marker for path is removed.
func Compact(path string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	before, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("store: compact %s: %w", path, err)
	}
	src, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: DefaultLockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return &inUseError{path: path}
	}
	if err != nil {
		return fmt.Errorf("store: compact: open %s: %w", path, err)
	}
	tmp := path + ".compact.tmp"
	old := path + ".compact.old"
	for _, p := range []string{tmp, old} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			_ = src.Close()
			return fmt.Errorf("store: compact: remove stale %s: %w", p, err)
		}
	}
	dst, err := bbolt.Open(tmp, 0o600, &bbolt.Options{Timeout: DefaultLockTimeout})
	if err != nil {
		_ = src.Close()
		return fmt.Errorf("store: compact: create %s: %w", tmp, err)
	}
	err = bbolt.Compact(dst, src, compactTxSize)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = src.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("store: compact %s: %w", path, err)
	}
	// Keep the old file under another name until the new one is in place,
	// so that a crash leaves either file complete at path.
	err = os.Link(path, old)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	_ = src.Close() // the lock was held until the new file took its place
	if err != nil {
		_ = os.Remove(tmp)
		_ = os.Remove(old)
		return fmt.Errorf("store: compact: replace %s: %w", path, err)
	}
	if err := scrubFile(old); err != nil {
		return fmt.Errorf("store: compact: overwrite the old file %s: %w", old, err)
	}
	if err := os.Remove(old); err != nil {
		return fmt.Errorf("store: compact: remove the old file %s: %w", old, err)
	}
	if err := os.Remove(path + CompactPendingSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: compact: remove marker: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("store: compact: sync directory: %w", err)
	}
	after, _ := os.Stat(path)
	var size int64
	if after != nil {
		size = after.Size()
	}
	logger.Info("store: compacted", "path", path, "bytes_before", before.Size(), "bytes_after", size)
	return nil
}

// MarkCompactPending records that the store file at path must be compacted
// at the next start (see CompactIfPending).
func MarkCompactPending(path string) error {
	marker := path + CompactPendingSuffix
	content := []byte(time.Now().UTC().Format(time.RFC3339) + " keyring rotation completed; compact before opening\n")
	if err := os.WriteFile(marker, content, 0o600); err != nil {
		return fmt.Errorf("store: mark compaction pending: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("store: mark compaction pending: %w", err)
	}
	return nil
}

// CompactPending reports whether a compaction of path is pending.
func CompactPending(path string) bool {
	_, err := os.Stat(path + CompactPendingSuffix)
	return err == nil
}

// CompactIfPending compacts the store file at path when a marker asks for
// it; it is called before the store is opened. It reports whether it
// compacted.
func CompactIfPending(path string, logger *slog.Logger) (bool, error) {
	if !CompactPending(path) {
		return false, nil
	}
	if err := Compact(path, logger); err != nil {
		return false, err
	}
	return true, nil
}

// scrubFile overwrites the file at path with zeros and syncs it.
func scrubFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil {
		zeros := make([]byte, 1<<20)
		for left := fi.Size(); left > 0 && err == nil; {
			n := min(left, int64(len(zeros)))
			_, err = f.Write(zeros[:n])
			left -= n
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs a directory so that a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
