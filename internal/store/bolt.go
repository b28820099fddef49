package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DefaultLockTimeout is how long OpenBolt waits, by default, for the file
// lock held by another process.
const DefaultLockTimeout = time.Second

// ErrInUse is wrapped by the error OpenBolt returns when another process
// holds the database file.
var ErrInUse = errors.New("store: in use by another process")

// BoltOptions configures OpenBolt.
type BoltOptions struct {
	// Logger receives format upgrades. Nil discards.
	Logger *slog.Logger
	// Timeout is how long to wait for the file lock another process holds.
	// Zero means DefaultLockTimeout.
	Timeout time.Duration
}

// Bolt is the single-node Store: one bbolt file, every Apply fsync'd.
// It is safe for concurrent use.
type Bolt struct {
	db     *bbolt.DB
	path   string
	logger *slog.Logger
	closed atomic.Bool
	writes *committer
}

var _ Store = (*Bolt)(nil)

// inUseError reports a database file locked by another process.
type inUseError struct{ path string }

func (e *inUseError) Error() string {
	return fmt.Sprintf("store: %s is in use by another keywarden process", e.path)
}

func (e *inUseError) Unwrap() error { return ErrInUse }

// OpenBolt opens (creating if needed, with mode 0600) the bbolt file at path,
// checks its on-disk format version and upgrades an older file in place.
// A file written by a newer keywarden is refused.
func OpenBolt(path string, opts BoltOptions) (*Bolt, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	// NoSync stays false: a commit returns only after fdatasync.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, &inUseError{path: path}
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := checkFormat(db, path, logger); err != nil {
		_ = db.Close()
		return nil, err
	}
	return &Bolt{db: db, path: path, logger: logger, writes: newCommitter(db)}, nil
}

// Path returns the file the store was opened from.
func (b *Bolt) Path() string { return b.path }

// View runs fn in a read-only bbolt transaction. Errors from fn are returned
// unchanged.
func (b *Bolt) View(fn func(Reader) error) error {
	if b.closed.Load() {
		return ErrClosed
	}
	return mapClosed(b.db.View(func(tx *bbolt.Tx) error {
		return fn(txReader{tx: tx})
	}))
}

// Apply writes cmd atomically and returns once it is on disk. Concurrent
// calls are grouped into one fsync'd transaction (see committer), without a
// fixed delay; a command whose precondition fails returns ErrConflict to its
// own caller only and writes nothing. A context
// cancelled before the command runs stops it.
func (b *Bolt) Apply(ctx context.Context, cmd Command) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: apply: %w", err)
	}
	// Reject malformed commands before they can disturb a batch.
	if err := cmd.Validate(); err != nil {
		return err
	}
	if len(cmd.Ops) == 0 {
		return nil
	}
	return b.writes.submit(ctx, cmd)
}

// Close waits for running transactions and closes the file. Later calls to
// any method, Close excepted, return ErrClosed; Close itself is idempotent.
func (b *Bolt) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	b.writes.close()
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", b.path, err)
	}
	return nil
}

// mapClosed turns bbolt's "database not open" (a call racing Close) into
// ErrClosed.
func mapClosed(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// txReader is the Reader over a bbolt transaction.
type txReader struct{ tx *bbolt.Tx }

// TxReader is the Reader over tx, for a store that keeps its own bbolt
// file and applies commands with ApplyTx (the Raft cluster's state
// machine): it reads exactly as Bolt's views do.
func TxReader(tx *bbolt.Tx) Reader { return txReader{tx: tx} }

// Get implements Reader.
func (r txReader) Get(bucket string, key []byte) ([]byte, error) {
	b := r.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil, ErrNotFound
	}
	v := b.Get(key)
	if v == nil {
		return nil, ErrNotFound
	}
	return v, nil
}

// Scan implements Reader.
func (r txReader) Scan(bucket string, prefix, start []byte, fn func(key, value []byte) (bool, error)) error {
	b := r.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	seek := prefix
	if bytes.Compare(start, prefix) > 0 {
		seek = start
	}
	c := b.Cursor()
	var k, v []byte
	if len(seek) == 0 {
		k, v = c.First()
	} else {
		k, v = c.Seek(seek)
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if v == nil {
			// A nested bucket; the store never creates one.
			continue
		}
		more, err := fn(k, v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}
