package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/keywarden/keywarden/internal/store"
)

// Where the core records the version of its attribute index. The record is
// sealed like every other value (bucket and key as additional data); it
// holds no secret.
const (
	bucketMeta      = "keys-meta"
	indexVersionKey = "index-version"
)

// IndexVersion is the version of the attribute index this keywarden keeps.
//
// History:
//
//	1  (no record) the index key of an attribute was computed from its
//	   value in the Go form the writer gave, which for a custom attribute
//	   written from Go code (a string, an int32, an untagged ttlv.Value)
//	   differs from the form its record reads back with: Modify and Delete
//	   left such entries behind, and the record's own key was missing.
//	2  index keys are computed from the canonical form (canonical.go);
//	   RepairIndex rebuilt the index of every object from its record.
const IndexVersion = 2

// Repair bounds: objects and bytes of one repair command.
const (
	repairBatchObjects = 256
	repairBatchBytes   = 1 << 20
)

// IndexRepair reports what RepairIndex did.
type IndexRepair struct {
	// AlreadyDone: the index was at IndexVersion; nothing was written.
	AlreadyDone bool
	// Objects is the number of object records read.
	Objects int
	// Unreadable is the number of records that failed to open (their
	// entries are left as they are; Locate reports them as corrupted).
	Unreadable int
	// Removed and Added count the index entries deleted and written.
	Removed, Added int
}

// indexMeta is the sealed index version record.
type indexMeta struct {
	Version int `json:"version"`
}

// errRepairRace: another writer changed an object or the version record
// during a repair pass; the pass starts again.
var errRepairRace = errors.New("keys: index changed during repair")

// RepairIndex brings the attribute index of a store written by an earlier
// keywarden to IndexVersion, once: it reads every object record (through
// the barrier, as every read does), computes the index entries the record
// has now, removes every other entry (stale ones, and those naming no
// object) and adds the missing ones, then records IndexVersion. A store at
// IndexVersion is left untouched, so running it at every start costs one
// read.
//
// Every change is a store command applied through the store (Store.Apply),
// each object's entries with a precondition on its record: in a cluster
// the repair replicates to every node like any write, a node that runs it
// while another writer changes an object starts its pass again, and two
// nodes repairing at once write the same entries. Only objects whose
// entries differ are written.
func (m *Manager) RepairIndex(ctx context.Context) (IndexRepair, error) {
	for range maxRetries {
		rep, err := m.repairPass(ctx)
		if errors.Is(err, errRepairRace) {
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("keys: repair index: %w", err)
		}
		if !rep.AlreadyDone {
			// Worth an operator's attention only when the index changed or
			// a record could not be read; a new or already clean store
			// just gets its marker.
			level := slog.LevelDebug
			if rep.Removed+rep.Added+rep.Unreadable > 0 {
				level = slog.LevelInfo
			}
			m.log.Log(ctx, level, "keys: attribute index repaired", "version", IndexVersion, "objects", rep.Objects,
				"removed", rep.Removed, "added", rep.Added, "unreadable", rep.Unreadable)
		}
		return rep, nil
	}
	return IndexRepair{}, fmt.Errorf("keys: repair index: %w", ErrConflict)
}

// repairPass runs one pass of RepairIndex.
func (m *Manager) repairPass(ctx context.Context) (IndexRepair, error) {
	version, raw, err := m.indexVersion()
	if err != nil {
		return IndexRepair{}, err
	}
	if version >= IndexVersion {
		return IndexRepair{AlreadyDone: true}, nil
	}
	plan, err := m.planRepair()
	if err != nil {
		return IndexRepair{}, err
	}
	rep := IndexRepair{Objects: plan.objects, Unreadable: plan.unreadable}
	var cmd store.Command
	n, size := 0, 0
	flush := func() error {
		if len(cmd.Ops) == 0 {
			return nil
		}
		err := m.apply(ctx, cmd)
		cmd, n, size = store.Command{}, 0, 0
		if errors.Is(err, store.ErrConflict) {
			return errRepairRace
		}
		return err
	}
	for _, f := range plan.fixes {
		if f.sealed == nil {
			if f.id != "" {
				cmd.RequireAbsent(bucketObjects, []byte(f.id))
			}
		} else {
			cmd.RequireEqual(bucketObjects, []byte(f.id), f.sealed)
		}
		for _, k := range f.remove {
			cmd.Delete(bucketIndex, k)
		}
		for _, k := range f.add {
			cmd.Put(bucketIndex, k, []byte{})
		}
		rep.Removed += len(f.remove)
		rep.Added += len(f.add)
		n, size = n+1, size+len(f.sealed)+(len(f.remove)+len(f.add))*(len(f.id)+32)
		if n >= repairBatchObjects || size >= repairBatchBytes {
			if err := flush(); err != nil {
				return IndexRepair{}, err
			}
		}
	}
	if err := m.markIndexVersion(&cmd, raw); err != nil {
		return IndexRepair{}, err
	}
	if err := flush(); err != nil {
		return IndexRepair{}, err
	}
	return rep, nil
}

// repairFix is the change of one object's index entries. sealed is the
// record the entries were computed from; nil for entries that name no
// object (id is empty for an entry too short to name one).
type repairFix struct {
	id          string
	sealed      []byte
	remove, add [][]byte
}

// repairPlan is what one pass writes.
type repairPlan struct {
	objects, unreadable int
	fixes               []repairFix
}

// planRepair compares, in one consistent view, the index entries of every
// object with those its record has now.
func (m *Manager) planRepair() (*repairPlan, error) {
	plan := &repairPlan{}
	idAt := 1 + len(m.seal.IndexKey())
	err := m.st.View(func(r store.Reader) error {
		have := map[string][][]byte{}
		if err := r.Scan(bucketIndex, nil, nil, func(k, _ []byte) (bool, error) {
			id := ""
			if len(k) > idAt {
				id = string(k[idAt:])
			}
			have[id] = append(have[id], bytes.Clone(k))
			return true, nil
		}); err != nil {
			return err
		}
		if err := r.Scan(bucketObjects, nil, nil, func(k, v []byte) (bool, error) {
			plan.objects++
			id := string(k)
			entries := have[id]
			delete(have, id)
			o, err := m.open(id, v)
			if err != nil {
				plan.unreadable++
				return true, nil
			}
			f := repairFix{id: id}
			want := m.indexKeys(o)
			for _, e := range entries {
				if !want[string(e)] {
					f.remove = append(f.remove, e)
				}
				delete(want, string(e))
			}
			for k := range want {
				f.add = append(f.add, []byte(k))
			}
			if len(f.remove) > 0 || len(f.add) > 0 {
				f.sealed = bytes.Clone(v)
				slices.SortFunc(f.add, bytes.Compare)
				plan.fixes = append(plan.fixes, f)
			}
			return true, nil
		}); err != nil {
			return err
		}
		// What is left names no object.
		for id, entries := range have {
			plan.fixes = append(plan.fixes, repairFix{id: id, remove: entries})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	slices.SortFunc(plan.fixes, func(a, b repairFix) int { return bytes.Compare([]byte(a.id), []byte(b.id)) })
	return plan, nil
}

// indexVersion returns the recorded index version (1 when no record) and
// the record as stored (nil when none).
func (m *Manager) indexVersion() (int, []byte, error) {
	var raw []byte
	err := m.st.View(func(r store.Reader) error {
		v, err := r.Get(bucketMeta, []byte(indexVersionKey))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		raw = bytes.Clone(v)
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("read index version: %w", err)
	}
	if raw == nil {
		return 1, nil, nil
	}
	plain, err := m.seal.Open(bucketMeta, []byte(indexVersionKey), raw)
	if err != nil {
		m.log.Error("index version record failed authentication", "err", err)
		return 0, nil, fmt.Errorf("%w: index version record", ErrCorrupted)
	}
	var meta indexMeta
	if err := json.Unmarshal(plain, &meta); err != nil || meta.Version < 1 {
		return 0, nil, fmt.Errorf("%w: index version record", ErrCorrupted)
	}
	return meta.Version, raw, nil
}

// markIndexVersion adds to cmd the record of IndexVersion, replacing raw
// (nil: no record yet).
func (m *Manager) markIndexVersion(cmd *store.Command, raw []byte) error {
	plain, err := json.Marshal(indexMeta{Version: IndexVersion})
	if err != nil {
		return err
	}
	sealed, err := m.seal.Seal(bucketMeta, []byte(indexVersionKey), plain)
	if err != nil {
		return fmt.Errorf("seal index version: %w", err)
	}
	if raw == nil {
		cmd.RequireAbsent(bucketMeta, []byte(indexVersionKey))
	} else {
		cmd.RequireEqual(bucketMeta, []byte(indexVersionKey), raw)
	}
	cmd.Put(bucketMeta, []byte(indexVersionKey), sealed)
	return nil
}
