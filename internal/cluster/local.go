package cluster

import (
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/keywarden/keywarden/internal/store"
)

// The methods of this file give the cluster store what the single server's
// store.Bolt offers beside store.Store (backups, the keyring rotation's
// bucket walk, metrics), all answered from this node's local file.

// Path returns the node's bbolt file.
func (s *Store) Path() string { return s.cfg.StorePath }

// Snapshot runs fn with a consistent snapshot of this node's file, inside
// one read-only transaction, as store.Bolt.Snapshot does. On a follower it
// may lag the leader by the entries not yet applied here.
func (s *Store) Snapshot(fn func(store.Snapshot) error) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return s.fsm.view(func(tx *bbolt.Tx) error {
		return fn(store.TxSnapshot(tx))
	})
}

// Buckets returns the names of every bucket in this node's file, in byte
// order.
func (s *Store) Buckets() ([]string, error) {
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	var names []string
	err := s.fsm.view(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: list buckets: %w", err)
	}
	return names, nil
}
