package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/keywarden/keywarden/internal/store"
)

// Buckets used by the core.
const (
	bucketObjects = "objects"
	bucketIndex   = "index"
)

// Sealer seals and opens stored values and derives blind index keys. The
// barrier implements it.
type Sealer interface {
	Seal(bucket string, key, plaintext []byte) ([]byte, error)
	Open(bucket string, key, sealed []byte) ([]byte, error)
	IndexKey(parts ...[]byte) []byte
}

// Options configure a Manager.
type Options struct {
	Store   store.Store
	Barrier Sealer
	Logger  *slog.Logger
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// LeaseTime is the lease granted by Obtain Lease and set on new
	// objects; one hour when zero.
	LeaseTime time.Duration
}

// Manager runs the lifecycle operations on managed objects.
type Manager struct {
	st    store.Store
	seal  Sealer
	log   *slog.Logger
	now   func() time.Time
	lease time.Duration
	cache *objectCache
}

// New returns a Manager over a store and a barrier.
func New(opts Options) (*Manager, error) {
	if opts.Store == nil || opts.Barrier == nil {
		return nil, errors.New("keys: a store and a barrier are required")
	}
	m := &Manager{st: opts.Store, seal: opts.Barrier, log: opts.Logger, now: opts.Now, lease: opts.LeaseTime, cache: newObjectCache()}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.lease == 0 {
		m.lease = time.Hour
	}
	return m, nil
}

// Now is the Manager's clock, truncated to the second as KMIP dates are.
func (m *Manager) Now() time.Time { return m.now().UTC().Truncate(time.Second) }

// newID returns a time-ordered unique identifier (UUIDv7), so that index
// scans list objects in creation order.
func newID() (string, error) {
	u, err := uuid.NewV7FromReader(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("keys: new id: %w", err)
	}
	return u.String(), nil
}

// stored is an object with the sealed bytes it was read from.
type stored struct {
	obj    *Object
	sealed []byte
}

// load reads and opens one object. A record that fails authentication is
// reported as ErrCorrupted and never returned.
func (m *Manager) load(id string) (*stored, error) {
	var sealed []byte
	err := m.st.View(func(r store.Reader) error {
		v, err := r.Get(bucketObjects, []byte(id))
		if err != nil {
			return err
		}
		sealed = bytes.Clone(v)
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("keys: load %q: %w", id, err)
	}
	obj, err := m.open(id, sealed)
	if err != nil {
		return nil, err
	}
	return &stored{obj: obj, sealed: sealed}, nil
}

// Objects returned by open are shared with the cache: callers must not
// modify them (update works on a Clone).
func (m *Manager) open(id string, sealed []byte) (*Object, error) {
	if o, ok := m.cache.get(id, sealed); ok {
		return o, nil
	}
	plain, err := m.seal.Open(bucketObjects, []byte(id), sealed)
	if err != nil {
		m.log.Error("stored object failed authentication", "id", id, "err", err)
		return nil, fmt.Errorf("%w: object %q", ErrCorrupted, id)
	}
	obj, err := decodeObject(plain)
	clear(plain)
	if err != nil || obj.ID != id {
		m.log.Error("stored object failed to decode", "id", id, "err", err)
		return nil, fmt.Errorf("%w: object %q", ErrCorrupted, id)
	}
	m.cache.put(id, sealed, obj)
	return obj, nil
}

// write adds to cmd the sealed record of next and the index changes from
// prev (nil for a new object) to next.
// The attributes of next are first brought to canonical form (canonical.go),
// so that its index keys are those its record reads back with.
func (m *Manager) write(cmd *store.Command, prev *stored, next *Object) error {
	attrs, err := canonicalAttrs(next.Attrs)
	if err != nil {
		return fmt.Errorf("keys: write %q: %w", next.ID, err)
	}
	next.Attrs = attrs
	plain, err := encodeObject(next)
	if err != nil {
		return fmt.Errorf("keys: encode %q: %w", next.ID, err)
	}
	sealed, err := m.seal.Seal(bucketObjects, []byte(next.ID), plain)
	clear(plain)
	if err != nil {
		return fmt.Errorf("keys: seal %q: %w", next.ID, err)
	}
	var old map[string]bool
	if prev == nil {
		cmd.RequireAbsent(bucketObjects, []byte(next.ID))
	} else {
		cmd.RequireEqual(bucketObjects, []byte(next.ID), prev.sealed)
		old = m.indexKeys(prev.obj)
	}
	cmd.Put(bucketObjects, []byte(next.ID), sealed)
	now := m.indexKeys(next)
	for k := range old {
		if !now[k] {
			cmd.Delete(bucketIndex, []byte(k))
		}
	}
	for k := range now {
		if !old[k] {
			cmd.Put(bucketIndex, []byte(k), []byte{})
		}
	}
	return nil
}

// maxRetries bounds optimistic-concurrency retries of one update.
const maxRetries = 8

// update reads object id, lets fn change a copy, and writes it back,
// retrying when another writer changed the object meanwhile.
func (m *Manager) update(ctx context.Context, id string, fn func(o *Object) error) (*Object, error) {
	if err := writable(ctx); err != nil {
		return nil, err
	}
	for range maxRetries {
		cur, err := m.loadVisible(ctx, id)
		if err != nil {
			return nil, err
		}
		next := cur.obj.Clone()
		if err := fn(next); err != nil {
			return nil, err
		}
		var cmd store.Command
		if err := m.write(&cmd, cur, next); err != nil {
			return nil, err
		}
		err = m.apply(ctx, cmd)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("keys: update %q: %w", id, err)
		}
		return next, nil
	}
	return nil, ErrConflict
}

// insert stores new objects atomically, in the caller's group.
func (m *Manager) insert(ctx context.Context, objs ...*Object) error {
	if err := writable(ctx); err != nil {
		return err
	}
	group, owner := accessOf(ctx).Group, accessOf(ctx).Owner
	var cmd store.Command
	for _, o := range objs {
		o.Group, o.Owner = group, owner
	}
	for _, o := range objs {
		if err := m.write(&cmd, nil, o); err != nil {
			return err
		}
	}
	if err := m.apply(ctx, cmd); err != nil {
		return fmt.Errorf("keys: insert: %w", err)
	}
	return nil
}

// Get returns the object id as stored, with its key material, if the
// caller may see it.
func (m *Manager) Get(ctx context.Context, id string) (*Object, error) {
	cur, err := m.loadVisible(ctx, id)
	if err != nil {
		return nil, err
	}
	return cur.obj, nil
}

// loadVisible loads an object the caller may see; others are not found.
func (m *Manager) loadVisible(ctx context.Context, id string) (*stored, error) {
	cur, err := m.load(id)
	if err != nil {
		return nil, err
	}
	if err := visible(ctx, cur.obj); err != nil {
		return nil, err
	}
	return cur, nil
}
