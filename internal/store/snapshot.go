package store

import (
	"fmt"
	"io"

	"go.etcd.io/bbolt"
)

// Snapshot is a consistent, read-only view of the whole store, as one read
// transaction sees it: the values it reads and the file it writes are the
// same state.
type Snapshot interface {
	Reader
	// Size is the number of bytes WriteTo writes.
	Size() int64
	// WriteTo writes a complete bbolt file of the snapshot to w: a copy that
	// OpenBolt opens as it is.
	WriteTo(w io.Writer) (int64, error)
}

// Snapshot runs fn with a consistent snapshot of the store, inside one
// read-only transaction, while writers go on. Keep fn short: a long read
// transaction keeps the pages it sees from being reused (copy the file to
// local disk, then stream the copy). Errors from fn are returned unchanged.
func (b *Bolt) Snapshot(fn func(Snapshot) error) error {
	if b.closed.Load() {
		return ErrClosed
	}
	return mapClosed(b.db.View(func(tx *bbolt.Tx) error {
		return fn(txSnapshot{txReader{tx: tx}})
	}))
}

// txSnapshot is the Snapshot over a bbolt read transaction.
type txSnapshot struct{ txReader }

// TxSnapshot is the Snapshot over the read transaction tx, as TxReader is
// the Reader.
func TxSnapshot(tx *bbolt.Tx) Snapshot { return txSnapshot{txReader{tx: tx}} }

// Size implements Snapshot.
func (s txSnapshot) Size() int64 { return s.tx.Size() }

// WriteTo implements Snapshot.
func (s txSnapshot) WriteTo(w io.Writer) (int64, error) {
	n, err := s.tx.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("store: write snapshot: %w", err)
	}
	return n, nil
}
