package keys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/keywarden/keywarden/internal/store"
)

// Undo errors.
var (
	// ErrUndoConflict: an object the journal would restore was changed by
	// another writer after (or between) the journaled writes; nothing was
	// restored, so that the other writer's change is not clobbered.
	ErrUndoConflict = errors.New("keys: undo refused: an object changed since it was written")
	// ErrNotUndoable: a journaled write cannot be reversed; nothing was
	// restored.
	ErrNotUndoable = errors.New("keys: a write cannot be undone")
)

// Journal records the object records that the Manager writes for one unit
// of work (one KMIP batch item), so that Manager.Undo can restore them.
// A write is recorded once its store command has been applied, with the
// record it replaced (nil for a new object) and the record it left. The
// zero value is ready; a Journal is safe for concurrent use.
//
// The journal holds the objects it recorded, key material included, in
// memory only, for as long as the caller keeps it: Undo seals them again
// like every other write, and they never reach a log or an error.
type Journal struct {
	mu      sync.Mutex
	changes []change
	// index are the index entries the writes put or removed, in order,
	// each with whether it existed before.
	index []indexEntry
	// claims are the name claims the writes took, in order (claim.go).
	claims []claimChange
	// broken is the first write that could not be recorded; Undo refuses.
	broken error
}

// claimChange is one name claim written: the record it replaced (nil when
// the name was unclaimed, as the write's precondition pinned it) and the
// record it left.
type claimChange struct {
	key, before, after []byte
}

// change is one object record written.
type change struct {
	id string
	// before and beforeSealed are the record the write replaced; nil when
	// the write created the object.
	before       *Object
	beforeSealed []byte
	// after and afterSealed are the record the write left; nil when the
	// write removed it.
	after       *Object
	afterSealed []byte
}

// indexEntry is an index entry a write put or removed.
type indexEntry struct {
	key     []byte
	existed bool
}

type journalKey struct{}

// WithJournal returns a context under which every object write of the
// Manager is recorded in j once it is applied. The journal is request
// data, like the access scope (WithAccess): it describes what this
// request changed.
func WithJournal(ctx context.Context, j *Journal) context.Context {
	return context.WithValue(ctx, journalKey{}, j)
}

func journalOf(ctx context.Context) *Journal {
	j, _ := ctx.Value(journalKey{}).(*Journal)
	return j
}

// Objects lists the identifiers of the objects whose records j recorded a
// write of, in the order of their first write.
func (j *Journal) Objects() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var ids []string
	for _, c := range j.changes {
		if !slices.Contains(ids, c.id) {
			ids = append(ids, c.id)
		}
	}
	return ids
}

// apply applies cmd to the store and, when ctx carries a Journal, records
// the writes of cmd in it. It returns the store's error unwrapped.
func (m *Manager) apply(ctx context.Context, cmd store.Command) error {
	j := journalOf(ctx)
	var existing map[string]bool
	var readErr error
	if j != nil {
		existing, readErr = m.existingIndex(cmd)
	}
	if err := m.st.Apply(ctx, cmd); err != nil {
		return err
	}
	if j != nil {
		j.record(m, cmd, existing, readErr)
	}
	return nil
}

// existingIndex returns which of the index entries cmd writes exist before
// it is applied. The answer still holds when the command applies: an
// object's index entries (their keys end with its id) change only together
// with its record, and the command's preconditions pin the record.
func (m *Manager) existingIndex(cmd store.Command) (map[string]bool, error) {
	existing := map[string]bool{}
	err := m.st.View(func(r store.Reader) error {
		for _, op := range cmd.Ops {
			if op.Bucket != bucketIndex {
				continue
			}
			_, err := r.Get(bucketIndex, op.Key)
			switch {
			case err == nil:
				existing[string(op.Key)] = true
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: read index: %w", ErrNotUndoable, err)
	}
	return existing, nil
}

// record adds the writes of an applied command. Every object write of the
// Manager (Manager.write) comes with a precondition that names the record
// it replaces (RequireEqual) or its absence (RequireAbsent): that
// precondition held, since the command was applied, so it is the record
// before the write. The index entries put and removed are recorded with
// whether they existed before (existing), so that Undo brings back exactly
// those. A write of another kind, or a failure to read the index (readErr),
// breaks the journal.
func (j *Journal) record(m *Manager, cmd store.Command, existing map[string]bool, readErr error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken == nil {
		j.broken = readErr
	}
	if j.broken != nil {
		return
	}
	type prior struct{ sealed []byte }
	priors := map[string]prior{}
	claimPriors := map[string][]byte{}
	for _, op := range cmd.Ops {
		switch op.Bucket {
		case bucketClaims:
			// Every claim write comes with its precondition (claim.go).
			switch op.Kind {
			case store.OpRequireAbsent:
				claimPriors[string(op.Key)] = nil
			case store.OpRequireEqual:
				claimPriors[string(op.Key)] = bytes.Clone(op.Value)
			case store.OpPut:
				before, ok := claimPriors[string(op.Key)]
				if !ok {
					j.broken = fmt.Errorf("%w: a name claim written without a precondition", ErrNotUndoable)
					return
				}
				j.claims = append(j.claims, claimChange{key: bytes.Clone(op.Key), before: before, after: bytes.Clone(op.Value)})
				claimPriors[string(op.Key)] = bytes.Clone(op.Value)
			default:
				j.broken = fmt.Errorf("%w: a name claim removed", ErrNotUndoable)
				return
			}
			continue
		case bucketIndex:
			if op.Kind == store.OpPut || op.Kind == store.OpDelete {
				j.index = append(j.index, indexEntry{key: bytes.Clone(op.Key), existed: existing[string(op.Key)]})
			}
			continue
		case bucketObjects:
		default:
			j.broken = fmt.Errorf("%w: a write to bucket %q", ErrNotUndoable, op.Bucket)
			return
		}
		id := string(op.Key)
		switch op.Kind {
		case store.OpRequireAbsent:
			priors[id] = prior{}
		case store.OpRequireEqual:
			priors[id] = prior{sealed: bytes.Clone(op.Value)}
		case store.OpPut, store.OpDelete:
			p, ok := priors[id]
			if !ok {
				j.broken = fmt.Errorf("%w: object %q written without a precondition", ErrNotUndoable, id)
				return
			}
			c := change{id: id, beforeSealed: p.sealed}
			if op.Kind == store.OpPut {
				c.afterSealed = bytes.Clone(op.Value)
			}
			if err := c.open(m); err != nil {
				j.broken = err
				return
			}
			j.changes = append(j.changes, c)
			priors[id] = prior{sealed: c.afterSealed}
		}
	}
}

// open decodes the records of c.
func (c *change) open(m *Manager) error {
	var err error
	if c.beforeSealed != nil {
		if c.before, err = m.open(c.id, c.beforeSealed); err != nil {
			return fmt.Errorf("%w: %w", ErrNotUndoable, err)
		}
	}
	if c.afterSealed != nil {
		if c.after, err = m.open(c.id, c.afterSealed); err != nil {
			return fmt.Errorf("%w: %w", ErrNotUndoable, err)
		}
	}
	return nil
}

// Undo restores every object the journals recorded a write of to its
// record before the first of those writes, removes the objects they
// created, reverses the index entries they put or removed and puts back
// the name claims they took (claim.go) as they were, in one
// store command: all of it is undone or nothing is. Journals are given in
// the order their work was done. Each restored record is sealed again,
// under the barrier's active generation, like any other write.
//
// The command requires each object to hold exactly the record the last
// journaled write left (and each claim the record the write left), so a
// change made meanwhile by another writer is never overwritten: Undo then returns ErrUndoConflict (as it does when
// another writer changed an object between two journaled writes) and
// nothing is restored. A journal that missed a write makes Undo return
// ErrNotUndoable, also without restoring anything.
func (m *Manager) Undo(ctx context.Context, journals ...*Journal) error {
	var all []change
	var index []indexEntry
	var claims []claimChange
	for _, j := range journals {
		j.mu.Lock()
		broken, changes, ops, cl := j.broken, slices.Clone(j.changes), slices.Clone(j.index), slices.Clone(j.claims)
		j.mu.Unlock()
		if broken != nil {
			return broken
		}
		all = append(all, changes...)
		index = append(index, ops...)
		claims = append(claims, cl...)
	}
	// first and last write of each object, in order of first write.
	type span struct{ first, last change }
	var order []string
	spans := map[string]*span{}
	for _, c := range all {
		s, ok := spans[c.id]
		if !ok {
			order = append(order, c.id)
			spans[c.id] = &span{first: c, last: c}
			continue
		}
		if !bytes.Equal(s.last.afterSealed, c.beforeSealed) {
			return fmt.Errorf("%w: object %q", ErrUndoConflict, c.id)
		}
		s.last = c
	}
	var cmd store.Command
	for i := len(order) - 1; i >= 0; i-- {
		s := spans[order[i]]
		if err := m.restore(&cmd, s.first, s.last); err != nil {
			return err
		}
	}
	// The index entries of an object change only with its record, which
	// the preconditions above pin: putting back, newest first, each entry
	// the journaled writes touched as it was before brings them back.
	for i := len(index) - 1; i >= 0; i-- {
		if index[i].existed {
			cmd.Put(bucketIndex, index[i].key, []byte{})
		} else {
			cmd.Delete(bucketIndex, index[i].key)
		}
	}
	// Name claims go back, newest first, each only if it still holds what
	// the write left: a name taken over meanwhile is not taken back.
	for i := len(claims) - 1; i >= 0; i-- {
		c := claims[i]
		cmd.RequireEqual(bucketClaims, c.key, c.after)
		if c.before == nil {
			cmd.Delete(bucketClaims, c.key)
			continue
		}
		owner, err := m.seal.Open(bucketClaims, c.key, c.before)
		if err != nil {
			return fmt.Errorf("%w: a name claim: %w", ErrNotUndoable, err)
		}
		sealed, err := m.seal.Seal(bucketClaims, c.key, owner)
		if err != nil {
			return fmt.Errorf("keys: undo: seal a name claim: %w", err)
		}
		cmd.Put(bucketClaims, c.key, sealed)
	}
	if len(cmd.Ops) == 0 {
		return nil
	}
	err := m.st.Apply(ctx, cmd)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("%w: %w", ErrUndoConflict, err)
	}
	if err != nil {
		return fmt.Errorf("keys: undo: %w", err)
	}
	return nil
}

// restore adds to cmd what brings the record of object id from the one
// last left back to the one first replaced (index entries apart).
func (m *Manager) restore(cmd *store.Command, first, last change) error {
	id := []byte(first.id)
	if last.after == nil {
		cmd.RequireAbsent(bucketObjects, id)
	} else {
		cmd.RequireEqual(bucketObjects, id, last.afterSealed)
	}
	if first.before == nil {
		cmd.Delete(bucketObjects, id)
		return nil
	}
	plain, err := encodeObject(first.before)
	if err != nil {
		return fmt.Errorf("keys: undo: encode %q: %w", first.id, err)
	}
	sealed, err := m.seal.Seal(bucketObjects, id, plain)
	clear(plain)
	if err != nil {
		return fmt.Errorf("keys: undo: seal %q: %w", first.id, err)
	}
	cmd.Put(bucketObjects, id, sealed)
	return nil
}
