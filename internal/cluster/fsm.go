package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"go.etcd.io/bbolt"

	"github.com/keywarden/keywarden/internal/store"
)

// appliedKey is the key in store.SysBucket where the state machine records
// the Raft index of the last entry it applied, in the same transaction as
// the entry's command. Replayed entries at or below it are skipped, so the
// bbolt file is the state machine's durable state and needs no restore on
// start. Commands may not write it (see Store.Apply).
const appliedKey = "raft.applied"

// fsm is the Raft state machine: the node's bbolt file, changed only by
// store.ApplyTx with the commands of committed log entries.
type fsm struct {
	path string
	log  *slog.Logger

	mu sync.RWMutex // guards db: readers hold it shared, Restore exclusive
	db *bbolt.DB

	// broken is set when a batch could not be written: later batches are
	// refused too, so that the file never holds an entry without the ones
	// before it; a restart replays from the last recorded index. Only the
	// state machine's goroutine touches it.
	broken error

	// onApplied, when set, is told the buckets each applied batch wrote
	// (Config.OnApplied, or Store.SetOnApplied once the node runs).
	onApplied atomic.Pointer[func(buckets []string)]

	amu     sync.Mutex
	applied uint64        // last applied index (under amu)
	advance chan struct{} // closed and replaced when applied moves (under amu)
}

// openFSM opens the bbolt file at path, first letting store.OpenBolt check
// (and upgrade) its on-disk format.
func openFSM(path string, logger *slog.Logger) (*fsm, error) {
	db, err := openChecked(path, logger)
	if err != nil {
		return nil, err
	}
	f := &fsm{path: path, log: logger, db: db, advance: make(chan struct{})}
	if err := db.View(func(tx *bbolt.Tx) error {
		f.applied = readApplied(tx)
		return nil
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("cluster: read applied index of %s: %w", path, err)
	}
	return f, nil
}

// openChecked checks the store file with store.OpenBolt, then opens it.
func openChecked(path string, logger *slog.Logger) (*bbolt.DB, error) {
	b, err := store.OpenBolt(path, store.BoltOptions{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if err := b.Close(); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: store.DefaultLockTimeout})
	if err != nil {
		return nil, fmt.Errorf("cluster: open %s: %w", path, err)
	}
	return db, nil
}

// readApplied returns the applied index recorded in tx, 0 when none.
func readApplied(tx *bbolt.Tx) uint64 {
	if b := tx.Bucket([]byte(store.SysBucket)); b != nil {
		if v := b.Get([]byte(appliedKey)); len(v) == 8 {
			return binary.BigEndian.Uint64(v)
		}
	}
	return 0
}

// resetApplied forgets the applied index recorded in the file.
func (f *fsm) resetApplied() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	err := f.db.Update(func(tx *bbolt.Tx) error {
		if b := tx.Bucket([]byte(store.SysBucket)); b != nil {
			return b.Delete([]byte(appliedKey))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster: reset applied index: %w", err)
	}
	f.amu.Lock()
	f.applied = 0
	f.amu.Unlock()
	return nil
}

// appliedIndex returns the index of the last applied entry.
func (f *fsm) appliedIndex() uint64 {
	f.amu.Lock()
	defer f.amu.Unlock()
	return f.applied
}

// setApplied records a new applied index and wakes the waiters.
func (f *fsm) setApplied(idx uint64) {
	f.amu.Lock()
	defer f.amu.Unlock()
	if idx > f.applied {
		f.applied = idx
	}
	close(f.advance)
	f.advance = make(chan struct{})
}

// waitApplied blocks until the entry at idx is applied or ctx ends.
func (f *fsm) waitApplied(ctx context.Context, idx uint64) error {
	for {
		f.amu.Lock()
		applied, ch := f.applied, f.advance
		f.amu.Unlock()
		if applied >= idx {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// view runs fn in a read transaction of the current file.
func (f *fsm) view(fn func(tx *bbolt.Tx) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return store.ErrClosed
	}
	return f.db.View(fn)
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch implements raft.BatchingFSM: every command entry of the batch
// is applied in one bbolt transaction (one fsync), each with its own
// outcome: nil, or an error wrapping store.ErrConflict or
// store.ErrInvalidCommand. Entries at or below the recorded applied index
// (a replay after a restart) are skipped.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	out, written := f.applyBatch(logs)
	if hook := f.onApplied.Load(); hook != nil && len(written) > 0 {
		// Outside the lock: the callback may read the store.
		buckets := make([]string, 0, len(written))
		for b := range written {
			buckets = append(buckets, b)
		}
		(*hook)(buckets)
	}
	return out
}

// applyBatch applies logs and returns their outcomes and the buckets the
// successful commands wrote (only collected when onApplied is set).
func (f *fsm) applyBatch(logs []*raft.Log) ([]any, map[string]struct{}) {
	out := make([]any, len(logs))
	if len(logs) == 0 {
		return out, nil
	}
	last := logs[len(logs)-1].Index
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		for i := range out {
			out[i] = store.ErrClosed
		}
		return out, nil
	}
	if f.broken != nil {
		for i := range out {
			out[i] = f.broken
		}
		return out, nil
	}
	var written map[string]struct{}
	err := f.db.Update(func(tx *bbolt.Tx) error {
		written = nil
		done := readApplied(tx)
		for i, l := range logs {
			if l.Index <= done || l.Type != raft.LogCommand {
				continue
			}
			cmd, err := store.DecodeCommand(l.Data)
			if err != nil {
				out[i] = fmt.Errorf("%w: %w", store.ErrInvalidCommand, err)
				continue
			}
			// ApplyTx leaves tx untouched when it fails (conflict or
			// invalid command): the failure is the command's outcome.
			out[i] = store.ApplyTx(tx, cmd)
			if out[i] == nil && f.onApplied.Load() != nil {
				for _, op := range cmd.Ops {
					if op.Kind == store.OpPut || op.Kind == store.OpDelete {
						if written == nil {
							written = map[string]struct{}{}
						}
						written[op.Bucket] = struct{}{}
					}
				}
			}
		}
		if last <= done {
			return nil
		}
		sys, err := tx.CreateBucketIfNotExists([]byte(store.SysBucket))
		if err != nil {
			return err
		}
		return sys.Put([]byte(appliedKey), binary.BigEndian.AppendUint64(nil, last))
	})
	if err != nil {
		// The disk failed under the state machine: this node cannot go on
		// applying the log consistently. Every entry reports it; the
		// applied index does not move, so a restart replays the batch.
		f.log.Error("cluster: apply committed entries: this node stops applying the log until it is restarted",
			"first", logs[0].Index, "last", last, "err", err)
		f.broken = fmt.Errorf("cluster: the state machine stopped at a failed write (restart the node): %w", err)
		for i := range out {
			out[i] = fmt.Errorf("cluster: apply entry %d: %w", logs[i].Index, err)
		}
		return out, nil
	}
	f.setApplied(last)
	return out, written
}

// Snapshot implements raft.FSM: a read transaction opened here, between two
// applies, is exactly the state at the last applied index; Persist streams
// it while later entries go on being applied.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.db == nil {
		return nil, store.ErrClosed
	}
	tx, err := f.db.Begin(false)
	if err != nil {
		return nil, fmt.Errorf("cluster: snapshot: %w", err)
	}
	return &snapshot{tx: tx}, nil
}

// Restore implements raft.FSM: the snapshot (a whole bbolt file) is written
// next to the store, checked, synced, and renamed over it.
func (f *fsm) Restore(rc io.ReadCloser) error {
	buckets, err := f.restore(rc)
	if hook := f.onApplied.Load(); err == nil && hook != nil {
		// Everything may have changed; outside the lock, as in ApplyBatch.
		(*hook)(buckets)
	}
	return err
}

// restore does Restore's work and returns the restored file's buckets.
func (f *fsm) restore(rc io.ReadCloser) ([]string, error) {
	defer rc.Close()
	tmp := f.path + ".restore"
	_ = os.Remove(tmp)
	if err := writeSynced(tmp, rc); err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("cluster: restore snapshot: %w", err)
	}
	// The snapshot must be a keywarden store this version understands.
	check, err := openChecked(tmp, f.log)
	if err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("cluster: restore snapshot: %w", err)
	}
	var applied uint64
	_ = check.View(func(tx *bbolt.Tx) error { applied = readApplied(tx); return nil })
	if err := check.Close(); err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("cluster: restore snapshot: %w", err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		_ = os.Remove(tmp)
		return nil, store.ErrClosed
	}
	if err := f.db.Close(); err != nil {
		return nil, fmt.Errorf("cluster: restore snapshot: close %s: %w", f.path, err)
	}
	f.db = nil
	if err := os.Rename(tmp, f.path); err != nil {
		return nil, fmt.Errorf("cluster: restore snapshot: %w", err)
	}
	if err := syncDir(filepath.Dir(f.path)); err != nil {
		return nil, fmt.Errorf("cluster: restore snapshot: %w", err)
	}
	db, err := bbolt.Open(f.path, 0o600, &bbolt.Options{Timeout: store.DefaultLockTimeout})
	if err != nil {
		return nil, fmt.Errorf("cluster: restore snapshot: reopen %s: %w", f.path, err)
	}
	f.db = db
	f.amu.Lock()
	f.applied = applied
	close(f.advance)
	f.advance = make(chan struct{})
	f.amu.Unlock()
	f.log.Info("cluster: state restored from a snapshot", "applied_index", applied)
	var buckets []string
	_ = db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			buckets = append(buckets, string(name))
			return nil
		})
	})
	return buckets, nil
}

// close closes the bbolt file; later reads and applies get store.ErrClosed.
func (f *fsm) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	f.db = nil
	if err != nil {
		return fmt.Errorf("cluster: close %s: %w", f.path, err)
	}
	return nil
}

// snapshot is a read transaction streamed to Raft's snapshot store.
type snapshot struct{ tx *bbolt.Tx }

// Persist implements raft.FSMSnapshot.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.tx.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("cluster: persist snapshot: %w", err)
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s *snapshot) Release() { _ = s.tx.Rollback() }

// writeSynced copies r into a new file at path (mode 0600) and fsyncs it.
func writeSynced(path string, r io.Reader) error {
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if err == nil {
		err = out.Sync()
	}
	return errors.Join(err, out.Close())
}

// syncDir fsyncs a directory so that a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
