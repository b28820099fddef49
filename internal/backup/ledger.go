package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keywarden/keywarden/internal/store"
)

// ErrNotBackedUp is returned by Ledger.Covers for an object created after
// the last backup's snapshot (or when no backup was ever taken).
var ErrNotBackedUp = errors.New("backup: not in a backup yet")

// Sealer seals and opens stored values; the barrier implements it.
type Sealer interface {
	Seal(bucket string, key, plaintext []byte) ([]byte, error)
	Open(bucket string, key, sealed []byte) ([]byte, error)
}

// Where the ledger keeps the last backup, sealed by the barrier.
const (
	ledgerBucket = "backup"
	ledgerKey    = "last"
)

// LastBackup describes the last backup taken.
type LastBackup struct {
	// Snapshot is when its store snapshot was taken: everything created
	// before it is in the backup.
	Snapshot time.Time `json:"snapshot"`
	// Node is the server that wrote it.
	Node string `json:"node,omitempty"`
}

// Ledger records the last backup in the store, so that a server asked to
// serve only keys that are in a backup (SKLM's backup.keycert.before.
// serving) can tell. It caches the record; it is safe for concurrent use.
type Ledger struct {
	st   store.Store
	seal Sealer

	mu   sync.RWMutex
	last LastBackup
}

// OpenLedger returns the ledger over st, loading the last record.
func OpenLedger(st store.Store, seal Sealer) (*Ledger, error) {
	if st == nil || seal == nil {
		return nil, errors.New("backup: a store and a barrier are required for the ledger")
	}
	l := &Ledger{st: st, seal: seal}
	last, err := l.load()
	if err != nil {
		return nil, err
	}
	l.last = last
	return l, nil
}

// load reads the record from the store; zero when there is none.
func (l *Ledger) load() (LastBackup, error) {
	var sealed []byte
	err := l.st.View(func(r store.Reader) error {
		v, err := r.Get(ledgerBucket, []byte(ledgerKey))
		sealed = append([]byte(nil), v...)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return LastBackup{}, nil
	}
	if err != nil {
		return LastBackup{}, fmt.Errorf("backup: load ledger: %w", err)
	}
	plain, err := l.seal.Open(ledgerBucket, []byte(ledgerKey), sealed)
	if err != nil {
		return LastBackup{}, fmt.Errorf("backup: open ledger: %w", err)
	}
	var last LastBackup
	if err := json.Unmarshal(plain, &last); err != nil {
		return LastBackup{}, fmt.Errorf("backup: decode ledger: %w", err)
	}
	return last, nil
}

// refresh reloads the record, which another cluster node may have
// written since (the store is replicated, the cache is not), and keeps
// the later of the two. A store that cannot be read leaves the cache.
func (l *Ledger) refresh() LastBackup {
	stored, err := l.load()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && stored.Snapshot.After(l.last.Snapshot) {
		l.last = stored
	}
	return l.last
}

// Latest returns the last backup recorded by any node: it reads the
// stored record first (another node of a cluster may have recorded a later
// backup), and falls back to what this node knows if the store cannot be
// read. Its Snapshot is zero when none.
func (l *Ledger) Latest() LastBackup { return l.refresh() }

// Last returns the last backup this node knows of, without reading the
// store; its Snapshot is zero when none.
func (l *Ledger) Last() LastBackup {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.last
}

// Record stores b as the last backup, unless a later one is recorded.
func (l *Ledger) Record(ctx context.Context, b LastBackup) error {
	l.refresh()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !b.Snapshot.After(l.last.Snapshot) {
		return nil
	}
	plain, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("backup: encode ledger: %w", err)
	}
	sealed, err := l.seal.Seal(ledgerBucket, []byte(ledgerKey), plain)
	if err != nil {
		return fmt.Errorf("backup: seal ledger: %w", err)
	}
	var cmd store.Command
	cmd.Put(ledgerBucket, []byte(ledgerKey), sealed)
	if err := l.st.Apply(ctx, cmd); err != nil {
		return fmt.Errorf("backup: store ledger: %w", err)
	}
	l.last = b
	return nil
}

// Covers returns nil when an object created at created is in the last
// backup, else an error wrapping ErrNotBackedUp that says why. Creation
// times are kept to the second, so an object created in the snapshot's
// second counts as not yet backed up.
func (l *Ledger) Covers(created time.Time) error {
	last := l.Last().Snapshot
	if !created.Before(last.Truncate(time.Second)) {
		// Before refusing, look for a later backup recorded by another
		// node of a cluster.
		last = l.refresh().Snapshot
	}
	if last.IsZero() {
		return fmt.Errorf("%w: no backup has been taken, and this server serves only keys that are in a backup", ErrNotBackedUp)
	}
	if !created.Before(last.Truncate(time.Second)) {
		return fmt.Errorf("%w: created %s, after the last backup (%s); this server serves only keys that are in a backup",
			ErrNotBackedUp, created.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339))
	}
	return nil
}
