package store

import (
	"fmt"

	"go.etcd.io/bbolt"
)

// Buckets returns the names of every bucket in the file, in byte order. The
// barrier's keyring rotation walks them to re-seal every record.
func (b *Bolt) Buckets() ([]string, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	var names []string
	err := b.db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: list buckets: %w", mapClosed(err))
	}
	return names, nil
}
